package dev.andromeda.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.gateway.auth.Tokens;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway on a random port in front of tiny JDK HTTP servers standing in for naming, store,
 * scheduler and two fibril nodes; a closed port stands in for a channel-service that is down.
 * Everything goes through a real HTTP client.
 */
@SpringBootTest(classes = GatewayApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
                "spring.config.name=gateway",
                "spring.application.name=gateway",
                "m31.auth.secret=" + GatewayTest.SECRET,
                "m31.internal.key=" + GatewayTest.INTERNAL_KEY,
                "m31.gateway.max-body-size=4KB",
                "spring.cloud.gateway.server.webflux.httpclient.connect-timeout=2000"
        })
class GatewayTest {

    static final String SECRET = "test-secret-of-at-least-thirty-two-bytes!";
    static final String INTERNAL_KEY = "internal-key-of-at-least-thirty-two-bytes";
    static final String FIBRIL = Ids.newId(Ids.FIBRIL);
    static final String MOVED = Ids.newId(Ids.FIBRIL);
    static final String GONE = Ids.newId(Ids.FIBRIL);
    /** Its first holder answers 421 (Generations.notHere): it moved to node B at generation 3. */
    static final String MISDIRECTED = Ids.newId(Ids.FIBRIL);
    /** Its node answers 410: the fibril exited after naming was asked. */
    static final String EXITED = Ids.newId(Ids.FIBRIL);
    static final String UNKNOWN = Ids.newId(Ids.FIBRIL);
    /** The fibril alias "mybox" names. */
    static final String ALIASED = Ids.newId(Ids.FIBRIL);
    static final String CHANNEL = Ids.newId(Ids.CHANNEL);
    static final InternalIdentity VERIFIER = new InternalIdentity(INTERNAL_KEY, Duration.ofSeconds(30));

    static final JsonMapper JSON = JsonMapper.builder().build();
    static HttpServer naming, store, scheduler, channel, nodeA, nodeB;
    static int closedPort;
    /** How many times naming was asked about each id. */
    static final Map<String, AtomicInteger> lookups = new ConcurrentHashMap<>();
    static final Queue<String> nodeAHits = new ConcurrentLinkedQueue<>();
    /** The identity headers the gateway sent naming with its own look-ups. */
    static final Queue<String> namingIdentities = new ConcurrentLinkedQueue<>();

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void upstreams() throws IOException {
        store = echo("store");
        scheduler = echo("scheduler");
        channel = echo("channel");
        nodeB = echo("nodeB");
        nodeA = server();
        nodeA.createContext("/", ex -> {
            nodeAHits.add(ex.getRequestURI().getRawPath());
            if (ex.getRequestURI().getRawPath().startsWith("/fibrils/" + MOVED)) {
                ex.getRequestBody().readAllBytes();
                reply(ex, 404, "application/problem+json",
                        "{\"type\":\"/problems/not-found\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"not here\"}");
            } else if (ex.getRequestURI().getRawPath().startsWith("/fibrils/" + MISDIRECTED)) {
                ex.getRequestBody().readAllBytes();
                reply(ex, 421, "application/problem+json",
                        "{\"type\":\"/problems/stale-generation\",\"title\":\"Misdirected Request\",\"status\":421,\"detail\":\"not held here\"}");
            } else if (ex.getRequestURI().getRawPath().startsWith("/fibrils/" + EXITED)) {
                reply(ex, 410, "application/problem+json",
                        "{\"type\":\"/problems/gone\",\"title\":\"Gone\",\"status\":410,\"detail\":\"exited a moment ago\"}");
            } else {
                echoReply(ex, "nodeA");
            }
        });
        nodeA.start();
        naming = server();
        naming.createContext("/names/bindings/", ex -> {
            String id = ex.getRequestURI().getPath().substring("/names/bindings/".length());
            namingIdentities.add(String.valueOf(ex.getRequestHeaders().getFirst(InternalIdentity.HEADER)));
            int n = lookups.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
            String a = "http://127.0.0.1:" + nodeA.getAddress().getPort();
            String b = "http://127.0.0.1:" + nodeB.getAddress().getPort();
            switch (id) {
                case String f when f.equals(FIBRIL) || f.equals(EXITED) || f.equals(ALIASED) -> reply(ex, 200, "application/json", binding(id, "fibril", "E0", a, 1));
                case String f when f.equals(MISDIRECTED) -> reply(ex, 200, "application/json",
                        n == 1 ? binding(id, "fibril", "E0", a, 2) : binding(id, "fibril", "E1", b, 3));
                // first answer is stale: the fibril has moved to nodeB (generation 2)
                case String f when f.equals(MOVED) -> reply(ex, 200, "application/json",
                        n == 1 ? binding(id, "fibril", "E0", a, 1) : binding(id, "fibril", "E1", b, 2));
                case String f when f.equals(GONE) -> reply(ex, 410, "application/problem+json",
                        "{\"type\":\"/problems/gone\",\"title\":\"Gone\",\"status\":410,\"detail\":\"fibril exited\"}");
                case "E1" -> reply(ex, 200, "application/json", binding(id, "node", "E1", b, 1));
                case "E9" -> reply(ex, 200, "application/json", binding(id, "node", "E9", "http://127.0.0.1:" + closedPort, 1));
                default -> reply(ex, 404, "application/problem+json",
                        "{\"type\":\"/problems/not-found\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"no binding for "
                                + id + "\",\"instance\":\"/names/bindings/" + id + "\"}");
            }
        });
        naming.createContext("/names/pub/", ex -> {
            namingIdentities.add(String.valueOf(ex.getRequestHeaders().getFirst(InternalIdentity.HEADER)));
            String name = ex.getRequestURI().getPath().substring("/names/pub/".length());
            if (name.equals("echo")) {
                reply(ex, 200, "application/json", "{\"name\":\"echo\",\"uri\":\"/ch/" + CHANNEL + "\",\"owner\":\"bob\"}");
            } else {
                reply(ex, 404, "application/problem+json", "{\"type\":\"/problems/not-found\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"no public interface " + name + "\"}");
            }
        });
        naming.createContext("/names/", ex -> {
            String alias = ex.getRequestURI().getPath().substring("/names/".length());
            if (!ex.getRequestMethod().equals("GET") || alias.contains("/")) {
                echoReply(ex, "naming");
                return;
            }
            namingIdentities.add(String.valueOf(ex.getRequestHeaders().getFirst(InternalIdentity.HEADER)));
            String uri = switch (alias) {
                case "mybox" -> "/fibrils/" + ALIASED;
                case "logs" -> "/fs/logs";
                case "sneaky" -> "/net/node=E1/tcpdmp";
                default -> null;
            };
            if (uri == null) {
                reply(ex, 404, "application/problem+json", "{\"type\":\"/problems/not-found\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"no alias " + alias + "\"}");
            } else {
                reply(ex, 200, "application/json", "{\"name\":\"" + alias + "\",\"uri\":\"" + uri + "\",\"owner\":\"alice\"}");
            }
        });
        naming.createContext("/", ex -> echoReply(ex, "naming"));
        naming.start();
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
    }

    @AfterAll
    static void stop() {
        for (HttpServer s : List.of(naming, store, scheduler, channel, nodeA, nodeB)) s.stop(0);
    }

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry r) {
        r.add("m31.services.naming", () -> "http://127.0.0.1:" + naming.getAddress().getPort());
        r.add("m31.services.store", () -> "http://127.0.0.1:" + store.getAddress().getPort());
        r.add("m31.services.scheduler", () -> "http://127.0.0.1:" + scheduler.getAddress().getPort());
        r.add("m31.services.channel", () -> "http://127.0.0.1:" + channel.getAddress().getPort());
    }

    // ---------------------------------------------------------------- routing

    @Test
    void staticRouteKeepsPathAndQueryAndPassesIdentityNotClientClaims() throws Exception {
        HttpResponse<String> r = send(get("/fs/log?since=01012014&fmt=JSON")
                .header("X-M31-Subject", "mallory")
                .header("X-M31-Roles", "admin")
                .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("store");
        assertThat(seen.path("path").asString()).isEqualTo("/fs/log");
        assertThat(seen.path("query").asString()).isEqualTo("since=01012014&fmt=JSON");
        assertThat(seen.path("subject").asString()).isEqualTo("alice");
        assertThat(seen.path("subjects").asInt()).isEqualTo(1);
        assertThat(seen.path("roles").asString()).isEqualTo("user,dev");
        assertThat(seen.path("traceparent").asString()).isEqualTo("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    }

    @Test
    void encodedPathsAndQueriesPassUnchanged() throws Exception {
        HttpResponse<String> r = send(get("/code/ab%20cd%3Aef?q=a%2Bb&x=%C3%A9&p=%2F"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("path").asString()).isEqualTo("/code/ab%20cd%3Aef");
        assertThat(seen.path("query").asString()).isEqualTo("q=a%2Bb&x=%C3%A9&p=%2F");
    }

    @Test
    void spawnGoesToTheSchedulerAndNetToNaming() throws Exception {
        HttpResponse<String> spawn = send(req("/fibrils").POST(HttpRequest.BodyPublishers.ofString("{\"fn\":\"x\"}"))
                .header("Content-Type", "application/json"));
        assertThat(spawn.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(spawn.body()).path("server").asString()).isEqualTo("scheduler");
        assertThat(JSON.readTree(spawn.body()).path("body").asString()).isEqualTo("{\"fn\":\"x\"}");

        HttpResponse<String> net = send(get("/net"));
        assertThat(JSON.readTree(net.body()).path("server").asString()).isEqualTo("naming");

        HttpResponse<String> sched = send(get("/sched/nodes"));
        assertThat(JSON.readTree(sched.body()).path("server").asString()).isEqualTo("scheduler");
    }

    @Test
    void fibrilIsRoutedToTheUrlNamingGave() throws Exception {
        HttpResponse<String> r = send(get("/fibrils/" + FIBRIL + "?wait=5"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("nodeA");
        assertThat(seen.path("path").asString()).isEqualTo("/fibrils/" + FIBRIL);
        assertThat(seen.path("query").asString()).isEqualTo("wait=5");
        assertThat(seen.path("subject").asString()).isEqualTo("alice");

        HttpResponse<String> sub = send(get("/fibrils/" + FIBRIL + "/node"));
        assertThat(JSON.readTree(sub.body()).path("path").asString()).isEqualTo("/fibrils/" + FIBRIL + "/node");
        // the resolution is cached: naming was asked once for both requests
        assertThat(lookups.get(FIBRIL).get()).isEqualTo(1);
    }

    @Test
    void staleResolutionIsEvictedAndTheRequestResentOnceToTheNewPlace() throws Exception {
        HttpResponse<String> r = send(req("/fibrils/" + MOVED + "/clone?n=2")
                .POST(HttpRequest.BodyPublishers.ofString("{\"copy\":true}"))
                .header("Content-Type", "application/json"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("nodeB");
        assertThat(seen.path("path").asString()).isEqualTo("/fibrils/" + MOVED + "/clone");
        assertThat(seen.path("query").asString()).isEqualTo("n=2");
        assertThat(seen.path("body").asString()).isEqualTo("{\"copy\":true}");
        assertThat(nodeAHits).contains("/fibrils/" + MOVED + "/clone");
        assertThat(lookups.get(MOVED).get()).isEqualTo(2);
    }

    @Test
    void nodeResourcesAreRoutedToTheNode() throws Exception {
        HttpResponse<String> r = send(get("/net/node=E1/fibrils"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("nodeB");
        assertThat(seen.path("path").asString()).isEqualTo("/net/node=E1/fibrils");
    }

    // ---------------------------------------------------------------- problems

    @Test
    void unknownIdIsNamingsOwn404Problem() throws Exception {
        HttpResponse<String> r = send(get("/fibrils/" + UNKNOWN));
        assertThat(r.statusCode()).isEqualTo(404);
        assertProblem(r, 404);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).isEqualTo("no binding for " + UNKNOWN);
    }

    @Test
    void goneIdIs410Problem() throws Exception {
        HttpResponse<String> r = send(get("/fibrils/" + GONE));
        assertProblem(r, 410);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).isEqualTo("fibril exited");
    }

    @Test
    void upstreamDownIs503NamingIt() throws Exception {
        HttpResponse<String> r = send(get("/net/node=E9/fibrils"));
        assertProblem(r, 503);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).startsWith("node E9").endsWith("unreachable");
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("at ");
    }

    @Test
    void noRouteIs404Problem() throws Exception {
        HttpResponse<String> r = send(get("/nowhere/at/all"));
        assertProblem(r, 404);
        assertThat(JSON.readTree(r.body()).path("instance").asString()).isEqualTo("/nowhere/at/all");
        // /fibrils itself takes POST (spawn) and GET (list), nothing else
        assertProblem(send(req("/fibrils").DELETE()), 404);
    }

    @Test
    void tooLargeBodyIs413Problem() throws Exception {
        HttpResponse<String> r = send(req("/fs/space/key").PUT(HttpRequest.BodyPublishers.ofString("x".repeat(5000))));
        assertProblem(r, 413);
    }

    @Test
    void tooLargeChunkedBodyIs413Problem() throws Exception {
        byte[] big = "y".repeat(20_000).getBytes(StandardCharsets.UTF_8);
        // an InputStream publisher has no length: the body goes chunked and is counted while streaming
        // its own client: the connection is closed under the refused upload, and must not be reused by other tests
        HttpClient own = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r = own.send(req("/fs/space/key")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertProblem(r, 413);
    }

    // ---------------------------------------------------------------- authentication

    @Test
    void missingTokenIs401() throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/ch")).timeout(Duration.ofSeconds(20)).GET());
        assertProblem(r, 401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    }

    @Test
    void withoutATokenOnlyReadsUnderFsGoThroughAndAsTheAnonymousCaller() throws Exception {
        // even a genuine identity header (signed with the constellation's key, for this very request) is dropped
        String genuine = VERIFIER.sign(Caller.of("root", List.of("admin")), "GET", "/fs/public/report");
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/fs/public/report?fmt=JSON"))
                .header(InternalIdentity.HEADER, genuine)
                .header("X-M31-Subject", "admin").header("X-M31-Roles", "admin").GET());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("store");
        assertThat(seen.path("path").asString()).isEqualTo("/fs/public/report");
        // what the client claimed is gone; the store gets the signed anonymous caller and decides
        assertThat(seen.path("subject").isNull()).isTrue();
        assertThat(seen.path("roles").isNull()).isTrue();
        assertThat(seen.path("identities").asInt()).isEqualTo(1);
        assertThat(seen.path("identity").asString()).isNotEqualTo(genuine);
        Caller who = VERIFIER.verify(seen.path("identity").asString(), "GET", "/fs/public/report").caller();
        assertThat(who.isAnonymous()).isTrue();
        assertThat(who.isPublicSender()).isFalse();
        assertThat(send(HttpRequest.newBuilder(uri("/fs")).GET()).statusCode()).isEqualTo(200);
        assertThat(send(HttpRequest.newBuilder(uri("/fs/public")).method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(200);

        // no write, and nothing but /fs, without a token
        for (String method : List.of("POST", "PUT", "PATCH", "DELETE")) {
            assertProblem(send(HttpRequest.newBuilder(uri("/fs/public/report")).method(method, HttpRequest.BodyPublishers.ofString("{}"))), 401);
        }
        for (String path : List.of("/ch", "/ch/" + CHANNEL, "/ch/" + CHANNEL + "/messages", "/fibrils", "/fibrils/" + FIBRIL,
                "/net", "/net/node=E1", "/names/resolve?uri=/fs/x", "/names/mybox", "/a/logs", "/sched/nodes", "/code", "/fsx", "/actuator/metrics")) {
            assertProblem(send(HttpRequest.newBuilder(uri(path)).GET()), 401);
        }
        // a bad token is never downgraded to anonymous, even where no token would do
        String forged = Tokens.mint("another-secret-that-is-also-32-bytes-long", "alice", List.of(), Duration.ofMinutes(5));
        String expired = Tokens.mint(SECRET, "alice", List.of(), Duration.ofMinutes(-5));
        for (String auth : List.of("Bearer " + forged, "Bearer " + expired, "Bearer not.a.jwt", "Bearer ", "Basic YTpi")) {
            assertProblem(send(HttpRequest.newBuilder(uri("/fs/public/report")).header("Authorization", auth).GET()), 401);
        }
    }

    @Test
    void badSignatureIs401() throws Exception {
        String forged = Tokens.mint("another-secret-that-is-also-32-bytes-long", "alice", List.of("admin"), Duration.ofMinutes(5));
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/fs")).timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + forged).GET());
        assertProblem(r, 401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).contains("invalid_token"));
        assertThat(JSON.readTree(r.body()).path("detail").asString()).contains("signature");
    }

    @Test
    void expiredTokenIs401() throws Exception {
        String old = Tokens.mint(SECRET, "alice", List.of(), Duration.ofMinutes(-5));
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/fs")).timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + old).GET());
        assertProblem(r, 401);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).contains("expired");
    }

    @Test
    void garbageTokenIs401() throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/fs")).timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer not.a.jwt").GET());
        assertProblem(r, 401);
        HttpResponse<String> basic = send(HttpRequest.newBuilder(uri("/fs")).timeout(Duration.ofSeconds(20)).header("Authorization", "Basic YTpi").GET());
        assertProblem(basic, 401);
    }

    @Test
    void healthIsOpen() throws Exception {
        // each probe on a connection of its own, as a kubelet probes (kept-alive ones: the test below)
        HttpResponse<String> r = sendAlone(HttpRequest.newBuilder(uri("/actuator/health")).GET());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("UP");
        assertThat(sendAlone(HttpRequest.newBuilder(uri("/actuator/health/readiness")).GET()).statusCode()).isEqualTo(200);
        assertThat(sendAlone(HttpRequest.newBuilder(uri("/actuator/health/liveness")).GET()).statusCode()).isEqualTo(200);
        // other actuator endpoints are not open
        assertProblem(sendAlone(HttpRequest.newBuilder(uri("/actuator/metrics")).GET()), 401);
    }

    /**
     * Probes on one kept-alive connection, as a load balancer sends them: every one is answered.
     * Reactor Netty 1.3.6 stopped reading such a connection now and then (~1 probe in 300 here):
     * the health answer is written off the event loop, so the client's next request could arrive
     * before the previous exchange had ended; it was queued, and once the queue drained without a
     * request nobody asked the socket for more (reactor/reactor-netty#4347, #4361).
     */
    @Test
    void healthProbesOnOneKeptAliveConnectionAreAllAnswered() throws Exception {
        int probes = 3000;
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(5000);
            socket.setTcpNoDelay(true);
            var out = socket.getOutputStream();
            var in = new java.io.BufferedInputStream(socket.getInputStream());
            byte[] probe = ("GET /actuator/health/liveness HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < probes; i++) {
                out.write(probe);
                out.flush();
                String head;
                try {
                    head = readHead(in);
                } catch (java.net.SocketTimeoutException e) {
                    throw new AssertionError("probe " + i + " of " + probes + " on one connection was never answered", e);
                }
                assertThat(head).startsWith("HTTP/1.1 200");
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
                assertThat(m.find()).as(head).isTrue();
                assertThat(new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.UTF_8)).contains("UP");
            }
        }
    }

    private static String readHead(java.io.InputStream in) throws java.io.IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new java.io.EOFException("connection closed after " + head);
            head.append((char) b);
        }
        return head.toString();
    }

    private static HttpResponse<String> sendAlone(HttpRequest.Builder b) throws Exception {
        try (HttpClient own = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            return own.send(b.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    // ---------------------------------------------------------------- internal identity, generations

    @Test
    void upstreamGetsASignedIdentityForExactlyThisRequestAndClientCopiesAreStripped() throws Exception {
        String forged = new InternalIdentity("another-internal-key-thirty-two-bytes-long", Duration.ofSeconds(30))
                .sign(Caller.of("mallory", List.of("admin")), "GET", "/fs/x");
        HttpResponse<String> r = send(get("/fs/x/y?z=1").header(InternalIdentity.HEADER, forged));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("identities").asInt()).isEqualTo(1);
        String header = seen.path("identity").asString();
        assertThat(header).isNotEqualTo(forged);
        InternalIdentity.Verified v = VERIFIER.verify(header, "GET", "/fs/x/y");
        assertThat(v.caller().subject()).isEqualTo("alice");
        assertThat(v.caller().roles()).containsExactly("user", "dev");
        assertThat(v.caller().via()).isEqualTo("gateway");
        // bound to the method and path: useless for another request
        assertThatThrownBy(() -> VERIFIER.verify(header, "DELETE", "/fs/x/y")).isInstanceOf(InternalIdentity.Invalid.class);
        assertThatThrownBy(() -> VERIFIER.verify(header, "GET", "/fs/x/other")).isInstanceOf(InternalIdentity.Invalid.class);
        // tampering with the claims breaks the signature
        String[] parts = header.split("\\.");
        String claims = new String(java.util.Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8).replace("alice", "admin");
        String tampered = parts[0] + "." + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(claims.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertThatThrownBy(() -> VERIFIER.verify(tampered, "GET", "/fs/x/y")).hasMessageContaining("signature");
    }

    @Test
    void namingLookupsAreSignedAsTheGateway() throws Exception {
        send(get("/net/node=E1/x"));
        send(get("/a/logs"));
        assertThat(namingIdentities).isNotEmpty().allSatisfy(h -> assertThat(h).startsWith("v1."));
        String last = namingIdentities.stream().reduce((a, b) -> b).orElseThrow();
        assertThat(last).isNotEqualTo("null");
    }

    @Test
    void resolvedRoutesCarryTheResolvedGeneration() throws Exception {
        HttpResponse<String> r = send(get("/net/node=E1"));
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("generation").asString()).isEqualTo("1");
        assertThat(seen.path("routed").asString()).isEqualTo("gateway");
        assertThat(VERIFIER.verify(seen.path("identity").asString(), "GET", "/net/node=E1").caller().subject()).isEqualTo("alice");
    }

    @Test
    void aMisdirected421IsReResolvedAndResentToTheCurrentHolderWithItsGeneration() throws Exception {
        HttpResponse<String> r = send(req("/fibrils/" + MISDIRECTED + "/node").PUT(HttpRequest.BodyPublishers.ofString("{\"node\":\"E1\"}"))
                .header("Content-Type", "application/json"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("nodeB");
        assertThat(seen.path("generation").asString()).isEqualTo("3");
        assertThat(seen.path("body").asString()).isEqualTo("{\"node\":\"E1\"}");
        // the re-sent request carries a fresh identity (the first was used up at node A)
        assertThat(VERIFIER.verify(seen.path("identity").asString(), "PUT", "/fibrils/" + MISDIRECTED + "/node").caller().subject()).isEqualTo("alice");
        assertThat(nodeAHits).contains("/fibrils/" + MISDIRECTED + "/node");
    }

    @Test
    void aNodes410PassesThroughAsGone() throws Exception {
        HttpResponse<String> r = send(get("/fibrils/" + EXITED));
        assertProblem(r, 410);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).isEqualTo("exited a moment ago");
    }

    @Test
    void forgedIdsAre400WithoutAskingNaming() throws Exception {
        String good = Ids.newId(Ids.FIBRIL);
        char last = good.charAt(good.length() - 1);
        String forged = good.substring(0, good.length() - 1) + (last == '0' ? '1' : '0');
        HttpResponse<String> r = send(get("/fibrils/" + forged));
        assertProblem(r, 400);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).contains("not a valid fb id");
        assertThat(lookups).doesNotContainKey(forged);
        assertProblem(send(get("/fibrils/" + Ids.newId(Ids.CHANNEL))), 400);          // right form, wrong type
        assertProblem(send(get("/ch/ch-anything/messages")), 400);
        assertProblem(send(get("/ch/" + forged.replace("fb-", "ch-"))), 400);
        assertThat(send(get("/ch/" + CHANNEL)).statusCode()).isEqualTo(200);
    }

    // ---------------------------------------------------------------- trace context

    @Test
    void aTraceparentIsGeneratedWhenAbsentOrInvalidAndAlwaysReturned() throws Exception {
        HttpResponse<String> r = send(get("/fs/a"));
        String made = r.headers().firstValue("traceparent").orElseThrow();
        assertThat(made).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
        assertThat(JSON.readTree(r.body()).path("traceparent").asString()).isEqualTo(made);

        HttpResponse<String> bad = send(get("/fs/a").header("traceparent", "00-not-a-trace-01"));
        String replaced = bad.headers().firstValue("traceparent").orElseThrow();
        assertThat(replaced).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01").isNotEqualTo(made);
        assertThat(JSON.readTree(bad.body()).path("traceparent").asString()).isEqualTo(replaced);

        String given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        HttpResponse<String> kept = send(get("/fs/a").header("traceparent", given));
        assertThat(kept.headers().firstValue("traceparent")).hasValue(given);
        // problems carry it too
        HttpResponse<String> refused = send(HttpRequest.newBuilder(uri("/ch")).header("traceparent", given).GET());
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.headers().firstValue("traceparent")).hasValue(given);
    }

    // ---------------------------------------------------------------- attacks on paths

    @Test
    void traversalAndEncodedSlashTricksAreRefusedWithProblems() throws Exception {
        String token = "Bearer " + Tokens.mint(SECRET, "alice", List.of(), Duration.ofMinutes(5));
        for (String path : List.of("/fs/a/../../names/bindings/x", "/fs/%2e%2e/names", "/fs/a/%2E%2E/b", "/fs/a%2Fb",
                "/fs/a%2fb", "/fs//a", "/fs/a\\b", "/fs/a%5Cb", "/fs/a%252e%252e/b", "/fs/a%252fb", "/fs/./a", "/fs/a%00b",
                "/a/logs/../../net/node=E1/tcpdmp")) {
            RawResponse r = raw("GET " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + token + "\r\nConnection: close\r\n\r\n");
            assertThat(r.status()).as(path).isEqualTo(400);
            assertThat(r.head()).as(path).containsIgnoringCase("content-type: application/problem+json");
            assertThat(r.body()).as(path).contains("\"status\":400");
        }
        // none of them reached the store
        assertThat(send(get("/fs/a")).statusCode()).isEqualTo(200);
    }

    @Test
    void oversizedHeadersAreRefused() throws Exception {
        String token = "Bearer " + Tokens.mint(SECRET, "alice", List.of(), Duration.ofMinutes(5));
        RawResponse r = raw("GET /fs/a HTTP/1.1\r\nHost: x\r\nAuthorization: " + token + "\r\nX-Big: " + "h".repeat(33_000)
                + "\r\nConnection: close\r\n\r\n");
        assertThat(r.status()).isEqualTo(431);
        assertThat(r.head()).containsIgnoringCase("content-type: application/problem+json");
        assertThat(JSON.readTree(r.body()).path("status").asInt()).isEqualTo(431);
        RawResponse line = raw("GET /fs/" + "l".repeat(9_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(line.status()).isEqualTo(414);
        assertThat(line.head()).containsIgnoringCase("content-type: application/problem+json");
    }

    // ---------------------------------------------------------------- authorization

    @Test
    void adminOnlyPathsAre403ForOthersAndRoutedForAdmins() throws Exception {
        assertProblem(send(get("/net/node=E1/tcpdmp?i=0&exp=udp")), 403);
        assertProblem(send(req("/sched/nodes/E1/drain").POST(HttpRequest.BodyPublishers.noBody())), 403);
        assertProblem(send(req("/sched/policy").PUT(HttpRequest.BodyPublishers.ofString("{\"policy\":\"pack\"}"))), 403);
        assertProblem(send(req("/names/bindings/" + FIBRIL).PUT(HttpRequest.BodyPublishers.ofString("{}"))), 403);
        // an alias does not open an admin path
        assertProblem(send(get("/a/sneaky?i=0&exp=udp")), 403);
        HttpResponse<String> admin = send(admin("/net/node=E1/tcpdmp?i=0&exp=udp").GET());
        assertThat(admin.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(admin.body()).path("server").asString()).isEqualTo("nodeB");
        assertThat(JSON.readTree(admin.body()).path("query").asString()).isEqualTo("i=0&exp=udp");
        // reading the scheduler is open to users
        assertThat(send(get("/sched/nodes")).statusCode()).isEqualTo(200);
    }

    // ---------------------------------------------------------------- aliases

    @Test
    void anAliasedUriReachesTheResourceItsAliasNames() throws Exception {
        HttpResponse<String> r = send(get("/a/mybox/node?x=1"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("nodeA");
        assertThat(seen.path("path").asString()).isEqualTo("/fibrils/" + ALIASED + "/node");
        assertThat(seen.path("query").asString()).isEqualTo("x=1");
        assertThat(VERIFIER.verify(seen.path("identity").asString(), "GET", "/fibrils/" + ALIASED + "/node").caller().subject()).isEqualTo("alice");

        HttpResponse<String> space = send(get("/a/logs/today"));
        assertThat(JSON.readTree(space.body()).path("server").asString()).isEqualTo("store");
        assertThat(JSON.readTree(space.body()).path("path").asString()).isEqualTo("/fs/logs/today");

        HttpResponse<String> unknown = send(get("/a/nosuch"));
        assertProblem(unknown, 404);
        assertThat(JSON.readTree(unknown.body()).path("detail").asString()).isEqualTo("no alias nosuch");
        assertProblem(send(get("/a/Not_An_Alias")), 400);
        // an alias needs a token like everything else
        assertProblem(send(HttpRequest.newBuilder(uri("/a/mybox")).GET()), 401);
    }

    // ---------------------------------------------------------------- public interfaces

    @Test
    void aPublicNameTakesAnonymousPostsToItsChannelsSendEndpointOnly() throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/pub/echo?to=elsewhere"))
                .header("Content-Type", "application/json").header("Authorization", "Basic Zm9vOmJhcg==")
                .POST(HttpRequest.BodyPublishers.ofString("{\"value\":42}")));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("server").asString()).isEqualTo("channel");
        assertThat(seen.path("method").asString()).isEqualTo("POST");
        assertThat(seen.path("path").asString()).isEqualTo("/ch/" + CHANNEL + "/messages");
        assertThat(seen.path("query").isNull()).isTrue();
        assertThat(seen.path("body").asString()).isEqualTo("{\"value\":42}");
        assertThat(seen.path("authorization").isNull()).isTrue();
        Caller who = VERIFIER.verify(seen.path("identity").asString(), "POST", "/ch/" + CHANNEL + "/messages").caller();
        assertThat(who.isAnonymous()).isTrue();
        // the name it came through is signed along: channel-service lets a public sender send on that ground alone
        assertThat(who.isPublicSender()).isTrue();
        assertThat(who.via()).isEqualTo(Caller.VIA_PUBLIC + "echo");

        // GET (with or without a token) is 405; sub-paths 404; unknown names naming's 404
        HttpResponse<String> get = send(HttpRequest.newBuilder(uri("/pub/echo")).GET());
        assertProblem(get, 405);
        assertThat(get.headers().firstValue("Allow")).hasValue("POST");
        assertProblem(send(req("/pub/echo").GET()), 405);
        assertProblem(send(HttpRequest.newBuilder(uri("/pub/echo/messages")).POST(HttpRequest.BodyPublishers.ofString("{}"))), 404);
        assertProblem(send(HttpRequest.newBuilder(uri("/pub/nosuch")).POST(HttpRequest.BodyPublishers.ofString("{}"))), 404);
        // nothing else became public: the channel itself still needs a token
        assertProblem(send(HttpRequest.newBuilder(uri("/ch/" + CHANNEL + "/messages")).POST(HttpRequest.BodyPublishers.ofString("{}"))), 401);
        assertProblem(send(HttpRequest.newBuilder(uri("/ch/" + CHANNEL)).GET()), 401);
    }

    // ---------------------------------------------------------------- documentation

    @Test
    void theContractAndSwaggerUiAreServedWithoutAToken() throws Exception {
        HttpResponse<String> yaml = send(HttpRequest.newBuilder(uri("/openapi.yaml")).GET());
        assertThat(yaml.statusCode()).isEqualTo(200);
        assertThat(yaml.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/yaml"));
        assertThat(yaml.body()).startsWith("openapi: 3").contains("/names/resolve");
        HttpResponse<String> json = send(HttpRequest.newBuilder(uri("/v3/api-docs")).GET());
        assertThat(json.statusCode()).isEqualTo(200);
        JsonNode doc = JSON.readTree(json.body());
        assertThat(doc.path("openapi").asString()).startsWith("3");
        assertThat(doc.path("paths").has("/net")).isTrue();
        HttpResponse<String> ui = send(HttpRequest.newBuilder(uri("/swagger-ui/index.html")).GET());
        assertThat(ui.statusCode()).isEqualTo(200);
        assertThat(ui.body()).contains("swagger-ui-bundle.js");
        assertThat(send(HttpRequest.newBuilder(uri("/swagger-ui/swagger-initializer.js")).GET()).body()).contains("/openapi.yaml");
        HttpResponse<String> bundle = send(HttpRequest.newBuilder(uri("/swagger-ui/swagger-ui-bundle.js")).GET());
        assertThat(bundle.statusCode()).isEqualTo(200);
        assertThat(bundle.body().length()).isGreaterThan(100_000);
        assertThat(send(HttpRequest.newBuilder(uri("/swagger-ui")).GET()).statusCode()).isEqualTo(302);
    }

    // ---------------------------------------------------------------- helpers

    private void assertProblem(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("application/problem+json"));
        JsonNode p = JSON.readTree(r.body());
        assertThat(p.path("status").asInt()).isEqualTo(status);
        assertThat(p.has("type")).isTrue();
        assertThat(p.has("title")).isTrue();
        assertThat(p.has("detail")).isTrue();
        assertThat(r.body()).doesNotContain("trace").doesNotContain("exception");
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + port + pathAndQuery);
    }

    private HttpRequest.Builder req(String pathAndQuery) {
        String token = Tokens.mint(SECRET, "alice", List.of("user", "dev"), Duration.ofMinutes(5));
        return HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + token);
    }

    private HttpRequest.Builder admin(String pathAndQuery) {
        String token = Tokens.mint(SECRET, "root", List.of("admin"), Duration.ofMinutes(5));
        return HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + token);
    }

    record RawResponse(int status, String head, String body) {}

    /** Sends bytes exactly as given (no client-side normalisation of the path). */
    private RawResponse raw(String request) throws IOException {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int split = all.indexOf("\r\n\r\n");
            String head = split < 0 ? all : all.substring(0, split);
            String body = split < 0 ? "" : all.substring(split + 4);
            String[] first = head.split(" ", 3);
            return new RawResponse(Integer.parseInt(first[1]), head, body);
        }
    }

    private HttpRequest.Builder get(String pathAndQuery) {
        return req(pathAndQuery).GET();
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        // every request is bounded: a regression that hangs fails here instead of stalling the build
        return http.send(b.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpServer server() throws IOException {
        return HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    }

    private static HttpServer echo(String name) throws IOException {
        HttpServer s = server();
        s.createContext("/", ex -> echoReply(ex, name));
        s.start();
        return s;
    }

    private static void echoReply(HttpExchange ex, String name) throws IOException {
        Map<String, Object> seen = new LinkedHashMap<>();
        seen.put("server", name);
        seen.put("method", ex.getRequestMethod());
        seen.put("path", ex.getRequestURI().getRawPath());
        seen.put("query", ex.getRequestURI().getRawQuery());
        seen.put("subject", ex.getRequestHeaders().getFirst("X-M31-Subject"));
        List<String> subjects = ex.getRequestHeaders().get("X-M31-Subject");
        seen.put("subjects", subjects == null ? 0 : subjects.size());
        seen.put("roles", ex.getRequestHeaders().getFirst("X-M31-Roles"));
        seen.put("traceparent", ex.getRequestHeaders().getFirst("traceparent"));
        seen.put("identity", ex.getRequestHeaders().getFirst(InternalIdentity.HEADER));
        List<String> identities = ex.getRequestHeaders().get(InternalIdentity.HEADER);
        seen.put("identities", identities == null ? 0 : identities.size());
        seen.put("generation", ex.getRequestHeaders().getFirst("X-M31-Generation"));
        seen.put("routed", ex.getRequestHeaders().getFirst("X-M31-Routed"));
        seen.put("authorization", ex.getRequestHeaders().getFirst("Authorization"));
        seen.put("body", new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        reply(ex, 200, "application/json", JSON.writeValueAsString(seen));
    }

    private static String binding(String id, String kind, String node, String url, long generation) {
        return "{\"id\":\"" + id + "\",\"kind\":\"" + kind + "\",\"node\":\"" + node + "\",\"url\":\"" + url
                + "\",\"generation\":" + generation + ",\"gone\":false}";
    }

    private static void reply(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }
}
