package dev.andromeda.naming;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.andromeda.common.id.Ids;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Aliases and public names with the internal identity on (m31.internal.key): every request is
 * signed as the gateway would sign it, so ownership is checked against a verified caller.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=naming-service", "spring.application.name=naming-service",
                "m31.internal.key=" + NamingNamesTest.KEY})
class NamingNamesTest {

    static final String KEY = "naming-test-internal-key-of-32-bytes!!";
    static final InternalIdentity SIGNER = new InternalIdentity(KEY, Duration.ofSeconds(30));
    static final Caller ALICE = new Caller("alice", List.of("dev"), "gateway");
    static final Caller BOB = new Caller("bob", List.of(), "gateway");
    static final Caller ROOT = new Caller("root", List.of("admin"), "gateway");
    static final Caller NODE = Caller.service("node:E0");
    static final String CH_ALICE = Ids.newId(Ids.CHANNEL);
    static final String CH_BOB = Ids.newId(Ids.CHANNEL);
    static final Queue<String> channelCallers = new ConcurrentLinkedQueue<>();
    static final HttpServer channel = startChannel();

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        SharedEngines.springProperties(false).forEach((k, v) -> r.add(k, () -> v));
        r.add("m31.services.channel", () -> "http://127.0.0.1:" + channel.getAddress().getPort());
        r.add("m31.services.store", () -> "http://store.test:8033");
        r.add("m31.services.scheduler", () -> "http://scheduler.test:8035");
    }

    @AfterAll
    static void stop() { channel.stop(0); }

    @LocalServerPort int port;

    TestHttp.Response as(Caller who, String method, String path, String json) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        return new TestHttp(port).request(method, path, json, "application/json", Map.of(InternalIdentity.HEADER, SIGNER.sign(who, method, p)));
    }

    String bindFibril(String node, long generation) {
        String id = Ids.newId(Ids.FIBRIL);
        bindAt(id, node, generation);
        return id;
    }

    void bindAt(String id, String node, long generation) {
        TestHttp.Response r = as(NODE, "PUT", "/names/bindings/" + id, TestHttp.json(Map.of("kind", "fibril", "node", node,
                "url", "http://" + node.toLowerCase() + ".test:8040", "generation", generation)));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    @Test
    void anAliasIsItsCreatorsAndSomeoneElsesIs403() {
        String fb = bindFibril("E0", 1);
        TestHttp.Response made = as(ALICE, "PUT", "/names/alices-box", "{\"uri\":\"/fibrils/" + fb + "\"}");
        assertThat(made.status()).as(made.body()).isEqualTo(200);
        assertThat(made.json().path("owner").asString()).isEqualTo("alice");
        assertThat(made.json().path("id").asString()).isEqualTo(fb);

        TestHttp.Response stolen = as(BOB, "PUT", "/names/alices-box", "{\"uri\":\"/fs/bobs\"}");
        assertProblem(stolen, 403);
        assertProblem(as(BOB, "DELETE", "/names/alices-box", null), 403);
        // still alice's, still pointing where she said; everyone may read it
        TestHttp.Response seen = as(BOB, "GET", "/names/alices-box", null);
        assertThat(seen.json().path("uri").asString()).isEqualTo("/fibrils/" + fb);
        // the owner re-points it, an admin may remove it
        assertThat(as(ALICE, "PUT", "/names/alices-box", "{\"uri\":\"/fs/alices\"}").json().path("uri").asString()).isEqualTo("/fs/alices");
        assertThat(as(ROOT, "DELETE", "/names/alices-box", null).status()).isEqualTo(204);
        assertProblem(as(BOB, "GET", "/names/alices-box", null), 404);
    }

    @Test
    void anAliasFollowsItsFibrilAcrossMigrations() {
        String fb = bindFibril("E0", 1);
        assertThat(as(ALICE, "PUT", "/names/mover", "{\"uri\":\"/fibrils/" + fb + "\"}").status()).isEqualTo(200);
        TestHttp.Response before = as(ALICE, "GET", "/names/resolve?uri=" + TestHttp.enc("/a/mover/node?x=1"), null);
        assertThat(before.status()).as(before.body()).isEqualTo(200);
        assertThat(before.json().path("target").asString()).isEqualTo("http://e0.test:8040/fibrils/" + fb + "/node?x=1");
        assertThat(before.json().path("uri").asString()).isEqualTo("/a/mover/node?x=1");
        bindAt(fb, "E1", 2);
        TestHttp.Response after = as(ALICE, "GET", "/names/resolve?uri=" + TestHttp.enc("/a/mover/node?x=1"), null);
        assertThat(after.json().path("target").asString()).isEqualTo("http://e1.test:8040/fibrils/" + fb + "/node?x=1");
        assertThat(after.json().path("binding").path("generation").asLong()).isEqualTo(2);
        // and when the fibril is gone, so is what the alias leads to
        assertThat(as(NODE, "DELETE", "/names/bindings/" + fb, null).status()).isEqualTo(204);
        assertProblem(as(ALICE, "GET", "/names/resolve?uri=" + TestHttp.enc("/a/mover"), null), 410);
        assertProblem(as(ALICE, "GET", "/names/resolve?uri=" + TestHttp.enc("/a/nosuch"), null), 404);
    }

    @Test
    void badAliasTargetsAndNamesAre400() {
        String good = Ids.newId(Ids.FIBRIL);
        String forged = good.substring(0, good.length() - 1) + (good.endsWith("0") ? "1" : "0");
        for (String uri : List.of("/fibrils/" + forged, "/fs/../names/bindings", "/fs/a%2Fb", "/fs//x", "/a/other",
                "/names/bindings/x", "/fs/x?q=1", "relative", "/fs/%2e%2e/x", "/pub/x")) {
            assertProblem(as(ALICE, "PUT", "/names/tricky", TestHttp.json(Map.of("uri", uri))), 400);
        }
        assertProblem(as(ALICE, "PUT", "/names/resolve", "{\"uri\":\"/fs/x\"}"), 400);
        assertProblem(as(ALICE, "PUT", "/names/Upper", "{\"uri\":\"/fs/x\"}"), 400);
        // an alias of a fibril that does not exist, or is gone
        assertProblem(as(ALICE, "PUT", "/names/ghost", "{\"uri\":\"/fibrils/" + Ids.newId(Ids.FIBRIL) + "\"}"), 404);
        assertProblem(as(ALICE, "GET", "/names/bindings/" + forged, null), 400);
    }

    @Test
    void onlyTheMantleAndAdminsWriteBindings() {
        String id = Ids.newId(Ids.FIBRIL);
        String body = TestHttp.json(Map.of("kind", "fibril", "node", "E0", "url", "http://e0.test:8040"));
        assertProblem(as(ALICE, "PUT", "/names/bindings/" + id, body), 403);
        assertThat(as(NODE, "PUT", "/names/bindings/" + id, body).status()).isEqualTo(200);
        assertProblem(as(ALICE, "DELETE", "/names/bindings/" + id, null), 403);
        assertThat(as(ALICE, "GET", "/names/bindings/" + id, null).status()).isEqualTo(200);
    }

    @Test
    void unsignedAndReplayedRequestsAre401() {
        assertProblem(new TestHttp(port).get("/names/resolve?uri=/fs"), 401);
        String h = SIGNER.sign(ALICE, "GET", "/names/resolve");
        assertThat(new TestHttp(port).request("GET", "/names/resolve?uri=/fs", null, null, Map.of(InternalIdentity.HEADER, h)).status()).isEqualTo(200);
        assertProblem(new TestHttp(port).request("GET", "/names/resolve?uri=/fs", null, null, Map.of(InternalIdentity.HEADER, h)), 401);
    }

    @Test
    void onlyAChannelsOwnerPublishesItAndThePublicNameIsTheirs() {
        TestHttp.Response made = as(ALICE, "PUT", "/names/pub/hello", "{\"uri\":\"/ch/" + CH_ALICE + "\"}");
        assertThat(made.status()).as(made.body()).isEqualTo(200);
        assertThat(made.json().path("owner").asString()).isEqualTo("alice");
        // naming asked channel-service as alice
        assertThat(channelCallers).contains("alice");
        TestHttp.Response r = as(BOB, "GET", "/names/resolve?uri=" + TestHttp.enc("/pub/hello"), null);
        assertThat(r.json().path("target").asString()).isEqualTo("http://127.0.0.1:" + channel.getAddress().getPort() + "/ch/" + CH_ALICE + "/messages");
        assertThat(as(BOB, "GET", "/names/pub/hello", null).json().path("uri").asString()).isEqualTo("/ch/" + CH_ALICE);

        assertProblem(as(ALICE, "PUT", "/names/pub/stolen", "{\"uri\":\"/ch/" + CH_BOB + "\"}"), 403);
        assertProblem(as(BOB, "PUT", "/names/pub/hello", "{\"uri\":\"/ch/" + CH_BOB + "\"}"), 403);
        assertProblem(as(BOB, "DELETE", "/names/pub/hello", null), 403);
        assertProblem(as(ALICE, "PUT", "/names/pub/nothing", "{\"uri\":\"/ch/" + Ids.newId(Ids.CHANNEL) + "\"}"), 404);
        assertProblem(as(ALICE, "PUT", "/names/pub/bad", "{\"uri\":\"/fs/space\"}"), 400);
        assertProblem(as(ALICE, "PUT", "/names/pub/Bad_Name", "{\"uri\":\"/ch/" + CH_ALICE + "\"}"), 400);
        assertThat(as(ALICE, "DELETE", "/names/pub/hello", null).status()).isEqualTo(204);
        assertProblem(as(BOB, "GET", "/names/pub/hello", null), 404);
    }

    private static void assertProblem(TestHttp.Response r, int status) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/problem+json");
    }

    private static HttpServer startChannel() {
        try {
            HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            s.createContext("/ch/", ex -> {
                String h = ex.getRequestHeaders().getFirst(InternalIdentity.HEADER);
                try {
                    channelCallers.add(SIGNER.verify(h, ex.getRequestMethod(), ex.getRequestURI().getRawPath()).caller().subject());
                } catch (InternalIdentity.Invalid e) {
                    channelCallers.add("invalid: " + e.getMessage());
                }
                String id = ex.getRequestURI().getPath().substring("/ch/".length());
                String body;
                int status = 200;
                if (id.equals(CH_ALICE)) body = "{\"id\":\"" + id + "\",\"owner\":\"alice\"}";
                else if (id.equals(CH_BOB)) body = "{\"id\":\"" + id + "\",\"labels\":{\"owner\":\"bob\"}}";
                else {
                    status = 404;
                    body = "{\"type\":\"/problems/not-found\",\"status\":404,\"detail\":\"no channel\"}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", status == 200 ? "application/json" : "application/problem+json");
                ex.sendResponseHeaders(status, b.length);
                ex.getResponseBody().write(b);
                ex.close();
            });
            s.start();
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
