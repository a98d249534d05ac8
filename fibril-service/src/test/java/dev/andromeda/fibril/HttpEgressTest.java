package dev.andromeda.fibril;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.andromeda.fibril.nucleus.Fibril;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * http.req is an untrusted script's way out: it never reaches a denied range (by default the
 * cloud metadata address), not directly and not by a redirect from an allowed page. The denied
 * server here is real and reachable, and counts its requests: a refusal is the policy, not a
 * connection that failed.
 */
class HttpEgressTest {

    static HttpServer open, hidden;
    static final AtomicInteger hiddenHits = new AtomicInteger();
    static TestNode node;

    @BeforeAll
    static void start() throws Exception {
        hidden = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0), 0);
        hidden.createContext("/secret", ex -> {
            hiddenHits.incrementAndGet();
            byte[] b = "secret".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        hidden.start();
        open = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        open.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            String to = switch (path) {
                case "/to-hidden" -> "http://127.0.0.2:" + hidden.getAddress().getPort() + "/secret";
                case "/to-ok" -> "/ok";
                case "/to-file" -> "file:///etc/passwd";
                default -> null;
            };
            if (to != null) {
                ex.getResponseHeaders().add("Location", to);
                ex.sendResponseHeaders(302, -1);
            } else {
                byte[] b = "fine".getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
            }
            ex.close();
        });
        open.start();
        node = new TestNode(s -> s.setHttpDeny(List.of("169.254.0.0/16", "fe80::/10", "127.0.0.2/32")));
    }

    @AfterAll
    static void stop() {
        node.close();
        open.stop(0);
        hidden.stop(0);
    }

    private static String tryReq(String url) {
        Fibril f = node.run("var http = require('http'); var r;"
                + " try { var res = http.req('" + url + "'); r = 'got ' + res.text() + ' from ' + res.url; } catch (e) { r = 'refused: ' + e.message; } r");
        assertThat(f.state()).as(f.error()).isEqualTo(Fibril.State.DONE);
        return f.result().asString();
    }

    @Test
    void deniedRangesAreNotReachedDirectlyNorByARedirect() throws Exception {
        // the hidden server is there: only the policy keeps a fibril out
        java.net.http.HttpClient plain = java.net.http.HttpClient.newHttpClient();
        String direct = plain.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                "http://127.0.0.2:" + hidden.getAddress().getPort() + "/secret")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertThat(direct).isEqualTo("secret");
        hiddenHits.set(0);

        int port = open.getAddress().getPort();
        assertThat(tryReq("http://127.0.0.1:" + port + "/ok")).isEqualTo("got fine from http://127.0.0.1:" + port + "/ok");
        // an allowed redirect is followed, and the response says where it ended
        assertThat(tryReq("http://127.0.0.1:" + port + "/to-ok")).isEqualTo("got fine from http://127.0.0.1:" + port + "/ok");

        assertThat(tryReq("http://127.0.0.2:" + hidden.getAddress().getPort() + "/secret"))
                .startsWith("refused:").contains("127.0.0.2 is 127.0.0.2, in 127.0.0.2/32").contains("m31.fibril.http-deny");
        assertThat(tryReq("http://127.0.0.1:" + port + "/to-hidden"))
                .startsWith("refused:").contains("not to http://127.0.0.2:").contains("m31.fibril.http-deny");
        assertThat(hiddenHits.get()).isZero();

        // the cloud's instance metadata (refused before any connection is tried)
        assertThat(tryReq("http://169.254.169.254/latest/meta-data/iam/security-credentials/"))
                .startsWith("refused:").contains("169.254.0.0/16");
        // a redirect out of http(s)
        assertThat(tryReq("http://127.0.0.1:" + port + "/to-file")).startsWith("refused:").contains("not an http or https URL");
    }
}
