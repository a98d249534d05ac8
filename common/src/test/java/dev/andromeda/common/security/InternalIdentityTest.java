package dev.andromeda.common.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class InternalIdentityTest {

    static final String KEY = "a-key-of-at-least-thirty-two-bytes-long!";
    final InternalIdentity identity = new InternalIdentity(KEY, Duration.ofSeconds(30));

    @Test
    void aSignedHeaderVerifiesForItsRequestOnly() throws Exception {
        String h = identity.sign(new Caller("alice", List.of("dev"), "gateway"), "get", "/fs/a/b");
        InternalIdentity.Verified v = identity.verify(h, "GET", "/fs/a/b");
        assertThat(v.caller()).isEqualTo(new Caller("alice", List.of("dev"), "gateway"));
        assertThat(v.nonce()).hasSizeGreaterThanOrEqualTo(12);
        assertThatThrownBy(() -> identity.verify(h, "POST", "/fs/a/b")).hasMessageContaining("another request");
        assertThatThrownBy(() -> identity.verify(h, "GET", "/fs/a/c")).hasMessageContaining("another request");
        // two headers for the same request differ (nonce)
        assertThat(identity.sign(Caller.of("alice", List.of()), "GET", "/x")).isNotEqualTo(identity.sign(Caller.of("alice", List.of()), "GET", "/x"));
    }

    @Test
    void anyCharactersInTheClaimsSurviveSigningAndVerifying() throws Exception {
        // subjects come from tokens and paths from clients: quotes, backslashes, controls and non-ASCII must not break the JSON
        Caller odd = new Caller("a\"l\\i\nce\u0001 é 雪", List.of("r\"1", "", "ü"), "node:\"E0\"");
        String path = "/fs/%22x%5C/\"q\\";
        String h = identity.sign(odd, "PATCH", path);
        InternalIdentity.Verified v = identity.verify(h, "PATCH", path);
        assertThat(v.caller()).isEqualTo(odd);
        // nonces stay unique across many headers (they are what the replay guard remembers)
        java.util.Set<String> nonces = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) nonces.add(identity.verify(identity.sign(odd, "GET", "/x"), "GET", "/x").nonce());
        assertThat(nonces).hasSize(1000);
    }

    @Test
    void anotherKeyTamperedClaimsAndGarbageAreRefused() {
        String h = identity.sign(Caller.of("alice", List.of()), "GET", "/fs");
        InternalIdentity other = new InternalIdentity("another-key-of-at-least-thirty-two-bytes", Duration.ofSeconds(30));
        assertThatThrownBy(() -> other.verify(h, "GET", "/fs")).hasMessageContaining("signature");
        String[] p = h.split("\\.");
        String claims = new String(Base64.getUrlDecoder().decode(p[1]), StandardCharsets.UTF_8).replace("[]", "[\"admin\"]");
        String tampered = p[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(claims.getBytes(StandardCharsets.UTF_8)) + "." + p[2];
        assertThatThrownBy(() -> identity.verify(tampered, "GET", "/fs")).hasMessageContaining("signature");
        for (String bad : new String[] {"", "v1", "v1.x", "v2." + p[1] + "." + p[2], "v1.!!!.???", p[0] + "." + p[1] + ".AAAA"}) {
            assertThatThrownBy(() -> identity.verify(bad, "GET", "/fs")).as(bad).isInstanceOf(InternalIdentity.Invalid.class);
        }
        assertThatThrownBy(() -> identity.verify(null, "GET", "/fs")).hasMessageContaining("no X-M31-Identity");
    }

    @Test
    void anExpiredHeaderIsRefused() {
        Clock then = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
        InternalIdentity past = new InternalIdentity(KEY, Duration.ofSeconds(30), Duration.ofSeconds(5), then);
        String h = past.sign(Caller.of("alice", List.of()), "GET", "/fs");
        assertThatThrownBy(() -> identity.verify(h, "GET", "/fs")).hasMessageContaining("expired");
        // a header claiming a longer life than the ttl is refused too
        InternalIdentity longLived = new InternalIdentity(KEY, Duration.ofHours(1));
        String forever = longLived.sign(Caller.of("alice", List.of()), "GET", "/fs");
        assertThatThrownBy(() -> identity.verify(forever, "GET", "/fs")).hasMessageContaining("time window");
    }

    @Test
    void shortKeysFailClearly() {
        assertThatThrownBy(() -> new InternalIdentity("short", Duration.ofSeconds(30))).hasMessageContaining("at least 32");
        assertThatThrownBy(() -> new InternalIdentity(" ", Duration.ofSeconds(30))).hasMessageContaining("not set");
    }

    @Test
    void theReplayGuardAcceptsANonceOnceAndForgetsExpiredOnes() {
        long[] now = {1000};
        ReplayGuard g = new ReplayGuard(() -> now[0], 10);
        assertThat(g.firstUse("n1", 2000)).isTrue();
        assertThat(g.firstUse("n1", 2000)).isFalse();
        assertThat(g.firstUse("n2", 2000)).isTrue();
        now[0] = 3000;
        g.sweep();
        assertThat(g.size()).isZero();
        // bounded: when full of live nonces it refuses rather than forgets
        for (int i = 0; i < 10; i++) assertThat(g.firstUse("x" + i, 9000)).isTrue();
        assertThat(g.firstUse("y", 9000)).isFalse();
    }
}
