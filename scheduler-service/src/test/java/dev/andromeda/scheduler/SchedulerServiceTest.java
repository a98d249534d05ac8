package dev.andromeda.scheduler;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=scheduler-service", "spring.application.name=scheduler-service",
                "m31.scheduler.liveness=1500ms"})
class SchedulerServiceTest {

    /** Bodies of the spawns the fake fibril node received. */
    static final List<JsonNode> spawned = new CopyOnWriteArrayList<>();
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpServer fakeNode = startFakeNode();

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        SharedEngines.springProperties(false).forEach((k, v) -> r.add(k, () -> v));
    }

    @LocalServerPort int port;
    @Autowired JdbcTemplate jdbc;
    TestHttp http;

    @BeforeEach
    void setUp() {
        http = new TestHttp(port);
        jdbc.update("delete from nodes");
        spawned.clear();
    }

    @AfterAll
    static void stop() {
        fakeNode.stop(0);
    }

    // ---- registry ------------------------------------------------------------------------

    @Test
    void heartbeatsRegisterNodesThatExpireWithoutThem() throws Exception {
        var r = heartbeat("E0", "http://e0:8040", 3, Map.of("constellation", "gpu"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("name").asString()).isEqualTo("E0");
        assertThat(r.json().get("url").asString()).isEqualTo("http://e0:8040");
        assertThat(r.json().get("alive").asBoolean()).isTrue();
        assertThat(r.json().get("fibrils").asInt()).isEqualTo(3);
        assertThat(r.json().get("labels").get("constellation").asString()).isEqualTo("gpu");
        assertThat(r.json().get("lastSeen").asString()).isNotBlank();

        JsonNode e0 = node(http.get("/sched/nodes").json(), "E0");
        assertThat(e0.get("alive").asBoolean()).isTrue();
        assertThat(e0.get("fibrils").asInt()).isEqualTo(3);

        Thread.sleep(2000); // past the 1.5 s liveness of this test
        e0 = node(http.get("/sched/nodes").json(), "E0");
        assertThat(e0.get("alive").asBoolean()).isFalse();
        assertProblem(http.post("/sched/placements", "{}"), 503);
        assertProblem(http.post("/sched/placements", "{\"node\":\"E0\"}"), 503);

        heartbeat("E0", "http://e0:8040", 0, Map.of());
        e0 = node(http.get("/sched/nodes").json(), "E0");
        assertThat(e0.get("alive").asBoolean()).isTrue();
        assertThat(e0.get("labels").size()).isZero();
        assertThat(http.get("/sched/nodes").json().get("nodes").size()).isEqualTo(1);
    }

    @Test
    void badHeartbeatsAreRejected() {
        assertThat(http.put("/sched/nodes/E0", "{\"fibrils\":1}").status()).isEqualTo(400);
        assertThat(http.put("/sched/nodes/E0", "{\"url\":\"ftp://x\"}").json().get("field").asString()).isEqualTo("url");
        var r = http.put("/sched/nodes/bad_name", "{\"url\":\"http://x:1\"}");
        assertProblem(r, 400);
        assertThat(r.json().get("field").asString()).isEqualTo("node");
        assertThat(http.get("/sched/nodes").json().get("nodes").size()).isZero();
    }

    // ---- placement -----------------------------------------------------------------------

    @Test
    void spreadPlacesEvenlyAndCountsItsOwnPlacementsBetweenHeartbeats() {
        heartbeat("A", "http://a:8040", 0, Map.of());
        heartbeat("B", "http://b:8040", 0, Map.of());
        assertThat(placeMany("{}", 10)).containsExactlyInAnyOrderEntriesOf(Map.of("A", 5, "B", 5));

        // A reports 4 fibrils, B none: B catches up first, even within one heartbeat interval
        heartbeat("A", "http://a:8040", 4, Map.of());
        heartbeat("B", "http://b:8040", 0, Map.of());
        assertThat(placeMany("{}", 6)).containsExactlyInAnyOrderEntriesOf(Map.of("A", 1, "B", 5));
    }

    @Test
    void namedNodesAndConstellations() {
        heartbeat("A", "http://a:8040", 0, Map.of("constellation", "gpu"));
        heartbeat("B", "http://b:8040", 0, Map.of());
        heartbeat("C", "http://c:8040", 0, Map.of("constellation", "gpu"));

        var r = http.post("/sched/placements", "{\"node\":\"B\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("node").asString()).isEqualTo("B");
        assertThat(r.json().get("url").asString()).isEqualTo("http://b:8040");
        assertProblem(http.post("/sched/placements", "{\"node\":\"Z\"}"), 404);
        assertProblem(http.post("/sched/placements", "{\"node\":\"no_such!\"}"), 400);

        assertThat(placeMany("{\"constellation\":\"gpu\"}", 6)).containsExactlyInAnyOrderEntriesOf(Map.of("A", 3, "C", 3));
        assertProblem(http.post("/sched/placements", "{\"constellation\":\"tpu\"}"), 503);
    }

    @Test
    void noLiveNodeIs503() {
        var r = http.post("/sched/placements", "{}");
        assertProblem(r, 503);
        assertThat(r.json().get("detail").asString()).contains("no live node");
    }

    // ---- spawning ------------------------------------------------------------------------

    @Test
    void spawnIsPlacedAndForwardedToTheNodeWhoseAnswerIsPassedOn() {
        heartbeat("F1", fakeNodeUrl(), 0, Map.of("constellation", "js"));
        var r = http.post("/fibrils", "{\"source\":\"1 + 1\",\"args\":[1,\"two\"],\"env\":{\"k\":\"v\"}}");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(r.json().get("id").asString()).isEqualTo("fb-fake-1");
        assertThat(r.json().get("node").asString()).isEqualTo("F1");
        assertThat(r.json().get("state").asString()).isEqualTo("runnable");
        assertThat(spawned).hasSize(1);
        JsonNode forwarded = spawned.get(0);
        assertThat(forwarded.get("node").asString()).isEqualTo("F1");
        assertThat(forwarded.get("source").asString()).isEqualTo("1 + 1");
        assertThat(forwarded.get("args").get(1).asString()).isEqualTo("two");
        assertThat(forwarded.get("env").get("k").asString()).isEqualTo("v");

        // the node's own problem, with its extra properties, reaches the client as it was
        r = http.post("/fibrils", "{\"source\":\"syntax error(\",\"constellation\":\"js\"}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.json().get("detail").asString()).isEqualTo("missing ) after argument list");
        assertThat(r.json().get("field").asString()).isEqualTo("source");
        assertThat(r.json().get("line").asInt()).isEqualTo(1);
        assertThat(r.json().get("column").asInt()).isEqualTo(13);

        assertProblem(http.post("/fibrils", "{\"source\":\"1\",\"constellation\":\"gpu\"}"), 503);
        assertProblem(http.post("/fibrils", "{\"source\":\"1\",\"node\":\"Nope\"}"), 404);
    }

    @Test
    void anUnreachableNodeIsMarkedSuspectAndAnotherIsTriedOnce() {
        heartbeat("Dead", "http://127.0.0.1:1", 0, Map.of()); // fewest fibrils: chosen first
        heartbeat("F1", fakeNodeUrl(), 5, Map.of());
        var r = http.post("/fibrils", "{\"source\":\"1\"}");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        assertThat(spawned).hasSize(1);
        assertThat(spawned.get(0).get("node").asString()).isEqualTo("F1");
        assertThat(node(http.get("/sched/nodes").json(), "Dead").get("alive").asBoolean()).isFalse();
        assertThat(node(http.get("/sched/nodes").json(), "F1").get("alive").asBoolean()).isTrue();

        // pinned to an unreachable node: no other is tried
        heartbeat("Dead", "http://127.0.0.1:1", 0, Map.of());
        assertProblem(http.post("/fibrils", "{\"source\":\"1\",\"node\":\"Dead\"}"), 503);
        assertThat(spawned).hasSize(1);
    }

    @Test
    void fibrilResourcesAreServedByTheirNodes() {
        var r = http.get("/fibrils/fb-anything");
        assertThat(r.status()).isEqualTo(421);
        assertThat(r.json().get("detail").asString()).contains("served by the node");
        assertThat(http.delete("/fibrils/fb-anything").status()).isEqualTo(421);
    }

    // ---- helpers -------------------------------------------------------------------------

    private TestHttp.Response heartbeat(String name, String url, int fibrils, Map<String, String> labels) {
        var r = http.put("/sched/nodes/" + name, TestHttp.json(Map.of("url", url, "fibrils", fibrils, "labels", labels)));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r;
    }

    private Map<String, Integer> placeMany(String body, int n) {
        Map<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            var r = http.post("/sched/placements", body);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            counts.merge(r.json().get("node").asString(), 1, Integer::sum);
        }
        return counts;
    }

    private static JsonNode node(JsonNode list, String name) {
        for (JsonNode n : list.get("nodes")) if (n.get("name").asString().equals(name)) return n;
        throw new AssertionError("no node " + name + " in " + list);
    }

    private static void assertProblem(TestHttp.Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/problem+json");
    }

    private static String fakeNodeUrl() {
        return "http://127.0.0.1:" + fakeNode.getAddress().getPort();
    }

    /** Stands in for a fibril node's POST /fibrils: a fibril for good source, a problem for a syntax error. */
    private static HttpServer startFakeNode() {
        try {
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            s.setExecutor(Executors.newFixedThreadPool(2));
            s.createContext("/fibrils", ex -> {
                try (ex) {
                    JsonNode req = JSON.readTree(ex.getRequestBody().readAllBytes());
                    byte[] body;
                    if (req.path("source").asString("").contains("syntax error")) {
                        body = ("{\"type\":\"/problems/syntax\",\"title\":\"Bad Request\",\"status\":400,"
                                + "\"detail\":\"missing ) after argument list\",\"field\":\"source\",\"line\":1,\"column\":13}")
                                .getBytes(StandardCharsets.UTF_8);
                        ex.getResponseHeaders().add("Content-Type", "application/problem+json");
                        ex.sendResponseHeaders(400, body.length);
                    } else {
                        spawned.add(req);
                        body = ("{\"id\":\"fb-fake-" + spawned.size() + "\",\"uri\":\"/fibrils/fb-fake-" + spawned.size()
                                + "\",\"node\":\"" + req.path("node").asString() + "\",\"state\":\"runnable\","
                                + "\"created\":\"2026-01-02T03:04:05Z\"}").getBytes(StandardCharsets.UTF_8);
                        ex.getResponseHeaders().add("Content-Type", "application/json");
                        ex.sendResponseHeaders(201, body.length);
                    }
                    ex.getResponseBody().write(body);
                }
            });
            s.start();
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
