package dev.andromeda.naming;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.id.Ids;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=naming-service", "spring.application.name=naming-service"})
class NamingServiceTest {

    /** A stand-in for the scheduler's GET /sched/nodes: answers {@link #schedulerBody}, or stalls. */
    static final AtomicReference<String> schedulerBody = new AtomicReference<>("{\"nodes\":[]}");
    static final AtomicInteger schedulerDelayMs = new AtomicInteger();
    static final HttpServer scheduler = startScheduler();

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        SharedEngines.springProperties(false).forEach((k, v) -> r.add(k, () -> v));
        r.add("m31.services.scheduler", () -> "http://127.0.0.1:" + scheduler.getAddress().getPort());
        r.add("m31.services.channel", () -> "http://channel.test:8034");
        r.add("m31.services.store", () -> "http://store.test:8033");
    }

    @LocalServerPort int port;
    @Autowired M31Properties props;
    TestHttp http;

    @BeforeEach
    void setUp() {
        http = new TestHttp(port);
        schedulerDelayMs.set(0);
        props.getServices().put("scheduler", "http://127.0.0.1:" + scheduler.getAddress().getPort());
    }

    @AfterAll
    static void stopScheduler() {
        scheduler.stop(0);
    }

    // ---- bindings ------------------------------------------------------------------------

    @Test
    void bindingGenerationGrowsOnMovesAndStaleWritersAreRejected() {
        String id = Ids.newId(Ids.FIBRIL);
        var r = http.put("/names/bindings/" + id, "{\"kind\":\"fibril\",\"node\":\"E0\",\"url\":\"http://n0:8040\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("generation").asLong()).isEqualTo(1);
        assertThat(r.json().get("id").asString()).isEqualTo(id);

        // the same place again: no move, same generation
        r = http.put("/names/bindings/" + id, "{\"kind\":\"fibril\",\"node\":\"E0\",\"url\":\"http://n0:8040\"}");
        assertThat(r.json().get("generation").asLong()).isEqualTo(1);

        // a move without a generation: the server bumps it
        r = http.put("/names/bindings/" + id, "{\"kind\":\"fibril\",\"node\":\"E1\",\"url\":\"http://n1:8040\"}");
        assertThat(r.json().get("generation").asLong()).isEqualTo(2);
        assertThat(r.json().get("node").asString()).isEqualTo("E1");

        // a stale writer (generation 1) is refused and changes nothing
        r = http.put("/names/bindings/" + id, "{\"kind\":\"fibril\",\"node\":\"E0\",\"url\":\"http://n0:8040\",\"generation\":1}");
        assertThat(r.status()).isEqualTo(409);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.json().get("field").asString()).isEqualTo("generation");
        // another place at the current generation is a conflicting writer too
        r = http.put("/names/bindings/" + id, "{\"kind\":\"fibril\",\"node\":\"E2\",\"url\":\"http://n2:8040\",\"generation\":2}");
        assertThat(r.status()).isEqualTo(409);

        // a writer that knows better moves it explicitly
        r = http.put("/names/bindings/" + id, "{\"kind\":\"fibril\",\"node\":\"E2\",\"url\":\"http://n2:8040\",\"generation\":7}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("generation").asLong()).isEqualTo(7);

        r = http.get("/names/bindings/" + id);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("node").asString()).isEqualTo("E2");
        assertThat(r.json().get("url").asString()).isEqualTo("http://n2:8040");
        assertThat(r.json().get("generation").asLong()).isEqualTo(7);
        assertThat(r.json().get("kind").asString()).isEqualTo("fibril");
        assertThat(r.json().get("gone").asBoolean()).isFalse();
    }

    @Test
    void invalidBindingsAreRejectedNamingTheField() {
        String fb = Ids.newId(Ids.FIBRIL);
        assertProblem(http.put("/names/bindings/" + fb, "{\"url\":\"http://n0:8040\"}"), 400, "kind");
        String forged = fb.substring(0, fb.length() - 1) + (fb.endsWith("0") ? "1" : "0");
        assertProblem(http.put("/names/bindings/" + forged, "{\"kind\":\"fibril\",\"url\":\"http://n0:8040\"}"), 400, "id");
        assertProblem(http.put("/names/bindings/" + fb, "{\"kind\":\"channel\",\"url\":\"http://c:8034\"}"), 400, "id");
        assertProblem(http.put("/names/bindings/" + fb, "{\"kind\":\"fibril\",\"url\":\"ftp://n0/x\"}"), 400, "url");
        assertProblem(http.put("/names/bindings/" + fb, "{\"kind\":\"fibril\",\"url\":\"not a url\"}"), 400, "url");
        assertProblem(http.put("/names/bindings/" + fb, "{\"kind\":\"fibril\",\"node\":\"E 0\",\"url\":\"http://n0:8040\"}"), 400, "node");
        assertProblem(http.put("/names/bindings/bad_node!", "{\"kind\":\"node\",\"url\":\"http://n0:8040\"}"), 400, "id");
        assertProblem(http.put("/names/bindings/" + fb, "{\"id\":\"" + Ids.newId(Ids.FIBRIL) + "\",\"kind\":\"fibril\",\"url\":\"http://n0:8040\"}"), 400, "id");
        assertProblem(http.put("/names/bindings/" + fb, "{\"kind\":\"fibril\",\"url\":\"http://n0:8040\",\"generation\":0}"), 400, "generation");
        // none of that stored anything
        assertThat(http.get("/names/bindings/" + fb).status()).isEqualTo(404);
        assertProblem(http.get("/names/bindings/" + forged), 400, "id");
    }

    @Test
    void deletedBindingsAreGoneNotUnknown() {
        String id = Ids.newId(Ids.FIBRIL);
        assertThat(http.get("/names/bindings/" + id).status()).isEqualTo(404);
        assertThat(http.delete("/names/bindings/" + id).status()).isEqualTo(404);
        http.put("/names/bindings/" + id, "{\"kind\":\"fibril\",\"node\":\"E0\",\"url\":\"http://n0:8040\"}");
        assertThat(http.delete("/names/bindings/" + id).status()).isEqualTo(204);
        var r = http.get("/names/bindings/" + id);
        assertThat(r.status()).isEqualTo(410);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(http.get("/names/resolve?uri=/fibrils/" + id).status()).isEqualTo(410);
        // a node that comes back is bound again, one generation later
        http.put("/names/bindings/E-back", "{\"kind\":\"node\",\"url\":\"http://back:8040\"}");
        http.delete("/names/bindings/E-back");
        r = http.put("/names/bindings/E-back", "{\"kind\":\"node\",\"url\":\"http://back:8040\"}");
        assertThat(r.json().get("generation").asLong()).isEqualTo(2);
        assertThat(http.get("/names/bindings/E-back").status()).isEqualTo(200);
    }

    // ---- resolution ----------------------------------------------------------------------

    @Test
    void resolvesEveryUriShapeToTheUrlThatServesIt() {
        String fb = Ids.newId(Ids.FIBRIL);
        http.put("/names/bindings/" + fb, "{\"kind\":\"fibril\",\"node\":\"E3\",\"url\":\"http://n3:8040/\"}");
        var r = http.get("/names/resolve?uri=" + enc("/fibrils/" + fb + "/anything?wait=5"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("target").asString()).isEqualTo("http://n3:8040/fibrils/" + fb + "/anything?wait=5");
        assertThat(r.json().get("uri").asString()).isEqualTo("/fibrils/" + fb + "/anything?wait=5");
        assertThat(r.json().get("binding").get("node").asString()).isEqualTo("E3");
        assertThat(r.json().get("binding").get("generation").asLong()).isEqualTo(1);

        http.put("/names/bindings/E7", "{\"kind\":\"node\",\"url\":\"http://n7:8047\"}");
        r = http.get("/names/resolve?uri=" + enc("/net/node=E7/tcpdmp?i=0&exp=udp"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("target").asString()).isEqualTo("http://n7:8047/net/node=E7/tcpdmp?i=0&exp=udp");
        assertThat(r.json().get("binding").get("kind").asString()).isEqualTo("node");

        String ch = Ids.newId(Ids.CHANNEL);
        r = http.get("/names/resolve?uri=" + enc("/ch/" + ch + "/messages?wait=1"));
        assertThat(r.json().get("target").asString()).isEqualTo("http://channel.test:8034/ch/" + ch + "/messages?wait=1");

        r = http.get("/names/resolve?uri=" + enc("/fs/log?since=01012014&fmt=JSON"));
        assertThat(r.json().get("target").asString()).isEqualTo("http://store.test:8033/fs/log?since=01012014&fmt=JSON");
        r = http.get("/names/resolve?uri=/fs");
        assertThat(r.json().get("target").asString()).isEqualTo("http://store.test:8033/fs");

        assertProblem(http.get("/names/resolve?uri=/bogus/thing"), 400, "uri");
        assertProblem(http.get("/names/resolve?uri=relative"), 400, "uri");
        assertProblem(http.get("/names/resolve?uri=" + enc("/fibrils/" + fb + "/../../fs")), 400, "uri");
        String forged = fb.substring(0, fb.length() - 1) + (fb.endsWith("0") ? "1" : "0");
        assertProblem(http.get("/names/resolve?uri=/fibrils/" + forged), 400, "uri");
        assertProblem(http.get("/names/resolve?uri=/ch/ch-nope"), 400, "uri");
        assertThat(http.get("/names/resolve?uri=/fibrils/" + Ids.newId(Ids.FIBRIL)).status()).isEqualTo(404);
        assertThat(http.get("/names/resolve?uri=/net/node=Nowhere").status()).isEqualTo(404);
    }

    // ---- nodes ---------------------------------------------------------------------------

    @Test
    void netListsNodeBindingsWithTheSchedulersLiveness() {
        http.put("/names/bindings/N1", "{\"kind\":\"node\",\"url\":\"http://n1:8041\"}");
        http.put("/names/bindings/N2", "{\"kind\":\"node\",\"url\":\"http://n2:8042\"}");
        schedulerBody.set("{\"nodes\":[{\"name\":\"N1\",\"url\":\"http://n1:8041\",\"alive\":true,\"fibrils\":3,"
                + "\"labels\":{\"constellation\":\"gpu\"},\"lastSeen\":\"2026-01-02T03:04:05Z\"}]}");

        JsonNode n1 = node(http.get("/net").json(), "N1");
        JsonNode n2 = node(http.get("/net").json(), "N2");
        assertThat(n1.get("url").asString()).isEqualTo("http://n1:8041");
        assertThat(n1.get("alive").asBoolean()).isTrue();
        assertThat(n1.get("fibrils").asInt()).isEqualTo(3);
        assertThat(n1.get("labels").get("constellation").asString()).isEqualTo("gpu");
        assertThat(n1.get("lastSeen").asString()).startsWith("2026-01-02T03:04:05");
        assertThat(n2.get("alive").asBoolean()).isFalse(); // the scheduler never heard of it
        // fibrils and channels are not nodes
        assertThat(http.get("/net").json().get("nodes").valueStream().map(n -> n.get("name").asString()))
                .noneMatch(name -> name.startsWith("fb-"));

        // a scheduler that stalls: the list still comes, promptly, with liveness unknown
        schedulerDelayMs.set(3000);
        long t0 = System.nanoTime();
        var r = http.get("/net");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2500);
        assertThat(r.status()).isEqualTo(200);
        assertThat(node(r.json(), "N1").get("url").asString()).isEqualTo("http://n1:8041");
        assertThat(node(r.json(), "N1").has("alive") && !node(r.json(), "N1").get("alive").isNull()).isFalse();

        // a scheduler that is not there at all
        schedulerDelayMs.set(0);
        props.getServices().put("scheduler", "http://127.0.0.1:1");
        r = http.get("/net");
        assertThat(r.status()).isEqualTo(200);
        assertThat(node(r.json(), "N2").get("url").asString()).isEqualTo("http://n2:8042");
        assertThat(node(r.json(), "N2").has("alive") && !node(r.json(), "N2").get("alive").isNull()).isFalse();
    }

    @Test
    void nodeResourcesAreServedByTheNodesThemselves() {
        var r = http.get("/net/node=E0");
        assertThat(r.status()).isEqualTo(421);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.json().get("detail").asString()).contains("served by the node itself");
        assertThat(http.get("/net/node=E0/fibrils").status()).isEqualTo(421);
        // a malformed node name is the caller's error, not a server one
        var bad = http.get("/net/node=bad_name!");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("field").asString()).isEqualTo("node");
    }

    // ---- helpers -------------------------------------------------------------------------

    private static JsonNode node(JsonNode list, String name) {
        for (JsonNode n : list.get("nodes")) if (n.get("name").asString().equals(name)) return n;
        throw new AssertionError("no node " + name + " in " + list);
    }

    private static void assertProblem(TestHttp.Response r, int status, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.json().get("field").asString()).isEqualTo(field);
    }

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static HttpServer startScheduler() {
        try {
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            s.setExecutor(Executors.newFixedThreadPool(4));
            s.createContext("/sched/nodes", ex -> {
                try {
                    int delay = schedulerDelayMs.get();
                    if (delay > 0) Thread.sleep(delay);
                    byte[] body = schedulerBody.get().getBytes(StandardCharsets.UTF_8);
                    ex.getResponseHeaders().add("Content-Type", "application/json");
                    ex.sendResponseHeaders(200, body.length);
                    ex.getResponseBody().write(body);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (IOException ignored) {
                    // the caller gave up waiting
                } finally {
                    ex.close();
                }
            });
            s.start();
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
