package dev.andromeda.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.common.testing.TestHttp;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/**
 * The node resources controller as a node registers it, with identities checked: validation,
 * admin-only, 501 where tcpdump is missing, and a real capture where it is installed.
 */
@SpringBootTest(classes = NodeResourcesControllerTest.Node.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.application.name=node", "m31.node=E7", "m31.internal.key=" + NodeResourcesControllerTest.KEY})
class NodeResourcesControllerTest {

    static final String KEY = "node-resources-test-key-of-32-bytes!!!";
    static final InternalIdentity SIGNER = new InternalIdentity(KEY, Duration.ofSeconds(30));
    static final Caller ADMIN = new Caller("root", List.of("admin"), "gateway");
    static final Caller USER = new Caller("alice", List.of("dev"), "gateway");
    /** Where the node under test looks for tcpdump; a test flips it to a missing path. */
    static volatile String tcpdump = "tcpdump";

    @SpringBootApplication
    @Import(NodeResourcesController.class)
    static class Node {
        @Bean
        PacketCapture packetCapture() {
            return new PacketCapture("tcpdump", 50, 5) {
                final PacketCapture missing = new PacketCapture("/nonexistent/bin/tcpdump", 50, 5);
                @Override public java.nio.file.Path executable() {
                    return tcpdump.equals("tcpdump") ? super.executable() : missing.executable();
                }
            };
        }

        @Bean
        NodeResourcesController.NodeMetrics fibrilFigures() {
            return () -> Map.of("fibrilsParked", 3);
        }
    }

    @LocalServerPort
    int port;

    TestHttp.Response as(Caller who, String path) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        return new TestHttp(port).request("GET", path, null, null, Map.of(InternalIdentity.HEADER, SIGNER.sign(who, "GET", p)));
    }

    @Test
    void metricsAreTheNodesFiguresPlusWhatTheNodeAdds() {
        TestHttp.Response r = as(USER, "/net/node=E7/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().path("node").asString()).isEqualTo("E7");
        assertThat(r.json().path("heapUsedBytes").asLong()).isPositive();
        assertThat(r.json().path("fibrilsParked").asInt()).isEqualTo(3);
        assertProblem(as(USER, "/net/node=E8/metrics"), 404);
    }

    @Test
    void captureIsForAdminsOnly() {
        assertProblem(as(USER, "/net/node=E7/tcpdmp?i=0&exp=udp"), 403);
        assertProblem(new TestHttp(port).get("/net/node=E7/tcpdmp?i=0&exp=udp"), 401);
    }

    @Test
    void badParametersAndShellTricksAre400BeforeAnythingRuns() {
        TestHttp.Response evil = as(ADMIN, "/net/node=E7/tcpdmp?i=0&exp=" + TestHttp.enc("udp; rm -rf /"));
        assertProblem(evil, 400);
        assertThat(evil.field()).isEqualTo("exp");
        assertThat(as(ADMIN, "/net/node=E7/tcpdmp?i=0&exp=" + TestHttp.enc("$(reboot)")).field()).isEqualTo("exp");
        assertThat(as(ADMIN, "/net/node=E7/tcpdmp?i=9999&exp=udp").field()).isEqualTo("i");
        assertThat(as(ADMIN, "/net/node=E7/tcpdmp?i=0&count=0").field()).isEqualTo("count");
        assertThat(as(ADMIN, "/net/node=E7/tcpdmp?i=0&seconds=3600").field()).isEqualTo("seconds");
    }

    @Test
    void withoutTcpdumpItIsAClear501() {
        tcpdump = "/nonexistent/bin/tcpdump";
        try {
            TestHttp.Response r = as(ADMIN, "/net/node=E7/tcpdmp?i=0&exp=udp&count=1&seconds=1");
            assertProblem(r, 501);
            assertThat(r.json().path("type").asString()).isEqualTo("/problems/capture-unavailable");
            assertThat(r.json().path("detail").asString()).contains("not installed");
        } finally {
            tcpdump = "tcpdump";
        }
    }

    /**
     * Where tcpdump is installed (and we may capture) this captures real loopback traffic to a
     * port of our own; where it is not, the same request must be the 501 problem.
     */
    @Test
    void aRealCaptureOnLoopbackOrA501WhereTheNodeCannotCapture() throws Exception {
        int lo = loopback();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int target = server.getLocalPort();
            String path = "/net/node=E7/tcpdmp?i=" + lo + "&count=2&seconds=5&exp=" + TestHttp.enc("tcp and dst port " + target);
            HttpClient client = HttpClient.newHttpClient();
            CompletableFuture<HttpResponse<String>> capture = client.sendAsync(signedGet(path), HttpResponse.BodyHandlers.ofString());
            if (!new PacketCapture().available()) {
                HttpResponse<String> r = capture.get();
                assertThat(r.statusCode()).isEqualTo(501);
                assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/problem+json"));
                return;
            }
            // keep making connections to the port until the capture has its two packets (bounded by its own time limit)
            Thread traffic = Thread.ofVirtual().start(() -> {
                for (int k = 0; k < 100 && !capture.isDone(); k++) {
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), target); OutputStream o = s.getOutputStream()) {
                        o.write("ping".getBytes());
                        server.accept().close();
                        Thread.sleep(50);
                    } catch (Exception ignored) {
                        return;
                    }
                }
            });
            HttpResponse<String> r = capture.get();
            traffic.interrupt();
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
            List<String> lines = r.body().lines().filter(l -> !l.isBlank()).toList();
            assertThat(lines).hasSize(2).allSatisfy(l -> assertThat(l).contains("." + target + ":"));
        }
    }

    /**
     * A filter nothing matches: the answer starts at once (a client sees 200 and its headers while
     * tcpdump listens, as with {@code tail -f}), and the time limit ends it as a complete, blank
     * 200 — it was a 500 ("Stream closed") when the limit, the usual end of a capture, stopped it.
     */
    @Test
    void aQuietCaptureAnswersAtOnceAndItsTimeLimitEndsItCleanly() throws Exception {
        if (!new PacketCapture().available()) return; // the 501 is the test above
        int lo = loopback();
        try (ServerSocket quiet = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String path = "/net/node=E7/tcpdmp?i=" + lo + "&count=50&seconds=4&exp=" + TestHttp.enc("tcp and dst port " + quiet.getLocalPort());
            long t0 = System.nanoTime();
            HttpResponse<java.io.InputStream> r = HttpClient.newHttpClient().send(signedGet(path), HttpResponse.BodyHandlers.ofInputStream());
            double headersAfter = (System.nanoTime() - t0) / 1e9;
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(headersAfter).as("seconds until the answer started").isLessThan(3.5);
            String body;
            try (java.io.InputStream in = r.body()) {
                body = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            }
            assertThat(body).isBlank(); // tcpdump ends its output with a newline when stopped
            assertThat((System.nanoTime() - t0) / 1e9).as("the capture ran to its time limit").isGreaterThanOrEqualTo(3.9);
        }
    }

    /**
     * Lines reach the client as tcpdump prints them, not when the capture ends (Spring 7 made the
     * flush of a StreamingResponseBody a no-op, and every line waited for the end).
     */
    @Test
    void aCaptureStreamsEachPacketAsItComes() throws Exception {
        if (!new PacketCapture().available()) return; // the 501 is the test above
        int lo = loopback();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int target = server.getLocalPort();
            String path = "/net/node=E7/tcpdmp?i=" + lo + "&count=50&seconds=5&exp=" + TestHttp.enc("tcp and dst port " + target);
            long t0 = System.nanoTime();
            HttpResponse<java.io.InputStream> r = HttpClient.newHttpClient().send(signedGet(path), HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).isEqualTo(200);
            java.util.concurrent.atomic.AtomicBoolean seen = new java.util.concurrent.atomic.AtomicBoolean();
            // connect until the first packet's line arrives (tcpdump may not listen yet at the first)
            Thread traffic = Thread.ofVirtual().start(() -> {
                for (int k = 0; k < 30 && !seen.get(); k++) {
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), target)) {
                        server.accept().close();
                        Thread.sleep(100);
                    } catch (Exception ignored) {
                        return;
                    }
                }
            });
            try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(r.body(), java.nio.charset.StandardCharsets.UTF_8))) {
                String first = lines.readLine();
                double firstAt = (System.nanoTime() - t0) / 1e9;
                seen.set(true);
                assertThat(first).contains("." + target + ":");
                while (lines.readLine() != null) { /* the rest, until the time limit ends the capture */ }
                double endAt = (System.nanoTime() - t0) / 1e9;
                assertThat(endAt).as("the capture ran to its time limit").isGreaterThanOrEqualTo(4.9);
                assertThat(firstAt).as("seconds until the first line, of a capture that ended after %.1f s", endAt).isLessThan(endAt - 1.5);
            } finally {
                traffic.interrupt();
            }
        }
    }

    /** A GET of {@code path} (with its query) as the admin, signed as the gateway signs it. */
    private HttpRequest signedGet(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header(InternalIdentity.HEADER, SIGNER.sign(ADMIN, "GET", path.substring(0, path.indexOf('?')))).build();
    }

    /** The position of the loopback interface, as /tcpdmp?i= counts them. */
    private static int loopback() throws java.net.SocketException {
        List<java.net.NetworkInterface> all = PacketCapture.interfaces();
        for (int i = 0; i < all.size(); i++) if (all.get(i).isLoopback()) return i;
        throw new AssertionError("no loopback interface");
    }

    private static void assertProblem(TestHttp.Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/problem+json");
    }
}
