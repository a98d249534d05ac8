package dev.andromeda.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
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
                "m31.gateway.max-body-size=4KB",
                "spring.cloud.gateway.server.webflux.httpclient.connect-timeout=2000"
        })
class GatewayTest {

    static final String SECRET = "test-secret-of-at-least-thirty-two-bytes!";
    static final String FIBRIL = "fb-01JTESTFIBRIL0000000000000";
    static final String MOVED = "fb-01JTESTMOVED00000000000000";
    static final String GONE = "fb-01JTESTGONE000000000000000";

    static final JsonMapper JSON = JsonMapper.builder().build();
    static HttpServer naming, store, scheduler, nodeA, nodeB;
    static int closedPort;
    /** How many times naming was asked about each id. */
    static final Map<String, AtomicInteger> lookups = new ConcurrentHashMap<>();
    static final Queue<String> nodeAHits = new ConcurrentLinkedQueue<>();

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void upstreams() throws IOException {
        store = echo("store");
        scheduler = echo("scheduler");
        nodeB = echo("nodeB");
        nodeA = server();
        nodeA.createContext("/", ex -> {
            nodeAHits.add(ex.getRequestURI().getRawPath());
            if (ex.getRequestURI().getRawPath().startsWith("/fibrils/" + MOVED)) {
                ex.getRequestBody().readAllBytes();
                reply(ex, 404, "application/problem+json",
                        "{\"type\":\"/problems/not-found\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"not here\"}");
            } else {
                echoReply(ex, "nodeA");
            }
        });
        nodeA.start();
        naming = server();
        naming.createContext("/names/bindings/", ex -> {
            String id = ex.getRequestURI().getPath().substring("/names/bindings/".length());
            int n = lookups.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
            String a = "http://127.0.0.1:" + nodeA.getAddress().getPort();
            String b = "http://127.0.0.1:" + nodeB.getAddress().getPort();
            switch (id) {
                case FIBRIL -> reply(ex, 200, "application/json", binding(id, "fibril", "E0", a, 1));
                // first answer is stale: the fibril has moved to nodeB (generation 2)
                case MOVED -> reply(ex, 200, "application/json",
                        n == 1 ? binding(id, "fibril", "E0", a, 1) : binding(id, "fibril", "E1", b, 2));
                case GONE -> reply(ex, 410, "application/problem+json",
                        "{\"type\":\"/problems/gone\",\"title\":\"Gone\",\"status\":410,\"detail\":\"fibril exited\"}");
                case "E1" -> reply(ex, 200, "application/json", binding(id, "node", "E1", b, 1));
                default -> reply(ex, 404, "application/problem+json",
                        "{\"type\":\"/problems/not-found\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"no binding for "
                                + id + "\",\"instance\":\"/names/bindings/" + id + "\"}");
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
        for (HttpServer s : List.of(naming, store, scheduler, nodeA, nodeB)) s.stop(0);
    }

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry r) {
        r.add("m31.services.naming", () -> "http://127.0.0.1:" + naming.getAddress().getPort());
        r.add("m31.services.store", () -> "http://127.0.0.1:" + store.getAddress().getPort());
        r.add("m31.services.scheduler", () -> "http://127.0.0.1:" + scheduler.getAddress().getPort());
        r.add("m31.services.channel", () -> "http://127.0.0.1:" + closedPort);
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
        HttpResponse<String> r = send(get("/code/ab%20cd%2Fef?q=a%2Bb&x=%C3%A9"));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode seen = JSON.readTree(r.body());
        assertThat(seen.path("path").asString()).isEqualTo("/code/ab%20cd%2Fef");
        assertThat(seen.path("query").asString()).isEqualTo("q=a%2Bb&x=%C3%A9");
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
        HttpResponse<String> r = send(get("/fibrils/fb-01JNOSUCHFIBRIL000000000000"));
        assertThat(r.statusCode()).isEqualTo(404);
        assertProblem(r, 404);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).isEqualTo("no binding for fb-01JNOSUCHFIBRIL000000000000");
    }

    @Test
    void goneIdIs410Problem() throws Exception {
        HttpResponse<String> r = send(get("/fibrils/" + GONE));
        assertProblem(r, 410);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).isEqualTo("fibril exited");
    }

    @Test
    void upstreamDownIs503NamingTheService() throws Exception {
        HttpResponse<String> r = send(get("/ch/ch-anything"));
        assertProblem(r, 503);
        assertThat(JSON.readTree(r.body()).path("detail").asString()).isEqualTo("channel-service unreachable");
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("at ");
    }

    @Test
    void noRouteIs404Problem() throws Exception {
        HttpResponse<String> r = send(get("/nowhere/at/all"));
        assertProblem(r, 404);
        assertThat(JSON.readTree(r.body()).path("instance").asString()).isEqualTo("/nowhere/at/all");
        // GET /fibrils has no route (only POST spawns)
        assertProblem(send(get("/fibrils")), 404);
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
        HttpResponse<String> r = send(req("/fs/space/key")
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))));
        assertProblem(r, 413);
    }

    // ---------------------------------------------------------------- authentication

    @Test
    void missingTokenIs401() throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/fs")).timeout(Duration.ofSeconds(20)).GET());
        assertProblem(r, 401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
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
        HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/actuator/health")).timeout(Duration.ofSeconds(20)).GET());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("UP");
        assertThat(send(HttpRequest.newBuilder(uri("/actuator/health/readiness")).timeout(Duration.ofSeconds(20)).GET()).statusCode()).isEqualTo(200);
        assertThat(send(HttpRequest.newBuilder(uri("/actuator/health/liveness")).timeout(Duration.ofSeconds(20)).GET()).statusCode()).isEqualTo(200);
        // other actuator endpoints are not open
        assertProblem(send(HttpRequest.newBuilder(uri("/actuator/metrics")).timeout(Duration.ofSeconds(20)).GET()), 401);
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
        return HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(20)).timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + token);
    }

    private HttpRequest.Builder get(String pathAndQuery) {
        return req(pathAndQuery).GET();
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
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
