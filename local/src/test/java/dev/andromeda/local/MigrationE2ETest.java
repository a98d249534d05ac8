package dev.andromeda.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Fibril migration across the two nodes of a real constellation, used only through the gateway
 * (plus one direct call to a node, for a forged packet): a running fibril moves from E0 to E1
 * with its state, its URI keeps working and its generation grows; a message in flight to a
 * fibril that moves is neither lost nor duplicated; an anchored fibril does not move; a clone and
 * its original both finish.
 */
class MigrationE2ETest extends ConstellationTestBase {


    /** Loops with sleeps, noting where each step ran; the state (about 10 KB) must survive the move. */
    static final String WALKER = """
            var sys = require('sys'), steps = sys.args[0];
            var st = {log: [], pad: new Array(10001).join('x'), re: /(\\d+)-(\\d+)/};
            for (var i = 0; i < steps; i++) { st.log.push(sys.self().node); sys.sleep(100); }
            var where = {};
            for (var j = 0; j < st.log.length; j++) where[st.log[j]] = (where[st.log[j]] || 0) + 1;
            var m = st.re.exec('12-34');
            [st.log.length, st.pad.length, where, sys.self().node, m[1] + m[2]]
            """;

    @Test
    void aRunningFibrilMovesFromE0ToE1WithItsStateAndItsUriKeepsWorking() throws Exception {
        String id = spawnOn("E0", WALKER, 40);
        Thread.sleep(700);
        JsonNode before = body(call("GET", "/fibrils/" + id, null), 200);
        assertThat(before.path("node").asString()).isEqualTo("E0");
        long generation = before.path("generation").asLong();

        HttpResponse<String> moved = call("PUT", "/fibrils/" + id + "/node?wait=30", "{\"node\":\"E1\"}");
        JsonNode after = body(moved, 200);
        assertThat(after.path("node").asString()).isEqualTo("E1");
        assertThat(after.path("generation").asLong()).isGreaterThan(generation);

        // the same URI, through the gateway, now reaches E1
        JsonNode now = body(call("GET", "/fibrils/" + id, null), 200);
        assertThat(now.path("node").asString()).isEqualTo("E1");
        JsonNode binding = body(call("GET", "/names/bindings/" + id, null), 200);
        assertThat(binding.path("node").asString()).isEqualTo("E1");
        assertThat(binding.path("generation").asLong()).isEqualTo(after.path("generation").asLong());

        JsonNode done = body(call("GET", "/fibrils/" + id + "?wait=30", null), 200);
        assertThat(done.path("state").asString()).as(done.path("error").asString()).isEqualTo("done");
        JsonNode r = done.path("result");
        assertThat(r.get(0).asInt()).isEqualTo(40);
        assertThat(r.get(1).asInt()).isEqualTo(10000);
        assertThat(r.get(2).path("E0").asInt()).isPositive();
        assertThat(r.get(2).path("E1").asInt()).isPositive();
        assertThat(r.get(2).path("E0").asInt() + r.get(2).path("E1").asInt()).isEqualTo(40);
        assertThat(r.get(3).asString()).isEqualTo("E1");
        assertThat(r.get(4).asString()).isEqualTo("1234");
        // the node it left answers 404 for it: that is what sends the gateway back to naming
        HttpResponse<String> old = direct("GET", constellation.url("E0") + "/fibrils/" + id, null);
        assertThat(old.statusCode()).isEqualTo(404);
    }

    @Test
    void aMessageInFlightToAMovingFibrilIsNeitherLostNorDuplicated() throws Exception {
        String ch = body(call("POST", "/ch", "{\"type\":\"Any\"}"), 201).path("id").asString();
        String script = """
                var r = require('sys').args[0], got = [];
                for (var i = 0; i < 3; i++) got.push(r.recv());
                [got, require('sys').self().node]
                """;
        String body = json.writeValueAsString(Map.of("source", script, "node", "E0",
                "args", List.of(Map.of("$ch", "/ch/" + ch, "end", "recv"))));
        String id = body(call("POST", "/fibrils", body), 201).path("id").asString();
        send(ch, 1, "m1");
        awaitState(id, "parked");
        // ask for the move without waiting: the receive in flight must end first, and it ends with message 2
        HttpResponse<String> asked = call("PUT", "/fibrils/" + id + "/node?wait=0", "{\"node\":\"E1\"}");
        assertThat(asked.statusCode()).as(asked.body()).isIn(200, 202);
        send(ch, 2, "m2");
        awaitNode(id, "E1");
        send(ch, 3, "m3");
        JsonNode done = body(call("GET", "/fibrils/" + id + "?wait=30", null), 200);
        assertThat(done.path("state").asString()).as(done.path("error").asString()).isEqualTo("done");
        assertThat(done.path("result").toString()).isEqualTo("[[1,2,3],\"E1\"]");
        JsonNode rest = body(call("GET", "/ch/" + ch + "/messages?wait=0", null), 200);
        assertThat(rest.path("messages")).isEmpty();
    }

    @Test
    void aReceiverMovedInTheMiddleOfAStreamOf200GetsEachMessageOnceInOrder() throws Exception {
        JsonNode ch = body(call("POST", "/ch", "{\"type\":\"Int\",\"capabilities\":true}"), 201);
        String uri = ch.path("uri").asString();
        Map<String, String> send = Map.of("$ch", uri, "end", "send", "cap", ch.path("send").path("cap").asString());
        Map<String, String> recv = Map.of("$ch", uri, "end", "recv", "cap", ch.path("recv").path("cap").asString());
        // a slow receiver on E0: it holds taken-but-unconsumed messages in its inbox when it moves
        String receiver = """
                var sys = require('sys'), r = sys.args[0], got = [], where = {};
                for (var i = 0; i < 200; i++) {
                  got.push(r.recv());
                  var n = sys.self().node; where[n] = (where[n] || 0) + 1;
                  if (i % 10 === 0) sys.sleep(40);
                }
                [got, where]
                """;
        String rid = body(call("POST", "/fibrils", json.writeValueAsString(Map.of("source", receiver, "node", "E0", "args", List.of(recv)))), 201)
                .path("id").asString();
        String sender = "var s = require('sys').args[0]; for (var i = 1; i <= 200; i++) s.send(i); 'sent'";
        String sid = body(call("POST", "/fibrils", json.writeValueAsString(Map.of("source", sender, "node", "E1", "args", List.of(send)))), 201)
                .path("id").asString();
        Thread.sleep(400);
        JsonNode moved = body(call("PUT", "/fibrils/" + rid + "/node?wait=30", "{\"node\":\"E1\"}"), 200);
        assertThat(moved.path("node").asString()).isEqualTo("E1");

        JsonNode sent = body(call("GET", "/fibrils/" + sid + "?wait=60", null), 200);
        assertThat(sent.path("state").asString()).as(sent.path("error").asString()).isEqualTo("done");
        JsonNode done = body(call("GET", "/fibrils/" + rid + "?wait=60", null), 200);
        assertThat(done.path("state").asString()).as(done.path("error").asString()).isEqualTo("done");
        List<Integer> got = done.path("result").get(0).valueStream().map(JsonNode::asInt).toList();
        assertThat(got).hasSize(200);
        for (int i = 0; i < 200; i++) assertThat(got.get(i)).as("message %d", i).isEqualTo(i + 1);
        JsonNode where = done.path("result").get(1);
        assertThat(where.path("E0").asInt()).as(where.toString()).isPositive();
        assertThat(where.path("E1").asInt()).as(where.toString()).isPositive();
        // everything consumed was acknowledged: nothing is left to hand out again
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + uri + "/messages?wait=1"))
                .header("Authorization", "Bearer " + constellation.token()).header("X-M31-Cap", recv.get("cap"));
        JsonNode rest = json.readTree(http.send(b.build(), HttpResponse.BodyHandlers.ofString()).body());
        assertThat(rest.path("messages")).isEmpty();
        HttpRequest.Builder info = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + uri))
                .header("Authorization", "Bearer " + constellation.token()).header("X-M31-Cap", recv.get("cap"));
        JsonNode view = json.readTree(http.send(info.build(), HttpResponse.BodyHandlers.ofString()).body());
        assertThat(view.path("sent").asLong()).isEqualTo(200);
        assertThat(view.path("received").asLong()).isEqualTo(200);
    }

    @Test
    void aSyncStreamBetweenFibrilsOfOneNodeGoesInMemoryAndStaysExactlyOnceInOrderWhileBothEndsMove() throws Exception {
        JsonNode ch = body(call("POST", "/ch", "{\"type\":\"Int\",\"mode\":\"sync\",\"capabilities\":true}"), 201);
        String uri = ch.path("uri").asString();
        Map<String, String> send = Map.of("$ch", uri, "end", "send", "cap", ch.path("send").path("cap").asString());
        Map<String, String> recv = Map.of("$ch", uri, "end", "recv", "cap", ch.path("recv").path("cap").asString());
        long e0Before = handedInMemory("E0"), e1Before = handedInMemory("E1");
        int n = 600;
        String receiver = """
                var sys = require('sys'), r = sys.args[0], n = sys.args[1], got = [], where = {};
                for (var i = 0; i < n; i++) {
                  got.push(r.recv());
                  var at = sys.self().node; where[at] = (where[at] || 0) + 1;
                  if (i % 10 === 0) sys.sleep(25);
                }
                [got, where]
                """;
        String sender = """
                var sys = require('sys'), s = sys.args[0], where = {};
                for (var i = 1; i <= sys.args[1]; i++) { s.send(i); var at = sys.self().node; where[at] = (where[at] || 0) + 1; }
                where
                """;
        String rid = body(call("POST", "/fibrils", json.writeValueAsString(Map.of("source", receiver, "node", "E0", "args", List.of(recv, n)))), 201)
                .path("id").asString();
        String sid = body(call("POST", "/fibrils", json.writeValueAsString(Map.of("source", sender, "node", "E0", "args", List.of(send, n)))), 201)
                .path("id").asString();
        Thread.sleep(500);
        // the receiver moves away mid-stream: the sends go through the service and Kafka to E1
        assertThat(body(call("PUT", "/fibrils/" + rid + "/node?wait=30", "{\"node\":\"E1\"}"), 200).path("node").asString()).isEqualTo("E1");
        Thread.sleep(300);
        // then the sender follows it: the two ends are together again, on E1
        assertThat(body(call("PUT", "/fibrils/" + sid + "/node?wait=30", "{\"node\":\"E1\"}"), 200).path("node").asString()).isEqualTo("E1");

        JsonNode sent = body(call("GET", "/fibrils/" + sid + "?wait=60", null), 200);
        assertThat(sent.path("state").asString()).as(sent.path("error").asString()).isEqualTo("done");
        JsonNode done = body(call("GET", "/fibrils/" + rid + "?wait=60", null), 200);
        assertThat(done.path("state").asString()).as(done.path("error").asString()).isEqualTo("done");
        List<Integer> got = done.path("result").get(0).valueStream().map(JsonNode::asInt).toList();
        assertThat(got).hasSize(n);
        for (int i = 0; i < n; i++) assertThat(got.get(i)).as("message %d", i).isEqualTo(i + 1);
        JsonNode where = done.path("result").get(1);
        assertThat(where.path("E0").asInt()).as(where.toString()).isPositive();
        assertThat(where.path("E1").asInt()).as(where.toString()).isPositive();
        assertThat(sent.path("result").path("E1").asInt()).as(sent.path("result").toString()).isPositive();
        // both nodes passed messages in memory while the ends were together on them
        assertThat(handedInMemory("E0")).isGreaterThan(e0Before);
        assertThat(handedInMemory("E1")).isGreaterThan(e1Before);
        // and nothing is left at the service to be taken again
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + uri + "/messages?wait=1"))
                .header("Authorization", "Bearer " + constellation.token()).header("X-M31-Cap", recv.get("cap"));
        assertThat(json.readTree(http.send(b.build(), HttpResponse.BodyHandlers.ofString()).body()).path("messages")).isEmpty();
    }

    @Test
    void aSenderMovedMidStreamKeepsItsOrderThoughItsSendsWentOnBeforeTheyWereDurable() throws Exception {
        JsonNode ch = body(call("POST", "/ch", "{\"type\":\"Int\",\"capabilities\":true}"), 201);
        String uri = ch.path("uri").asString();
        Map<String, String> send = Map.of("$ch", uri, "end", "send", "cap", ch.path("send").path("cap").asString());
        String recvCap = ch.path("recv").path("cap").asString();
        // async without a capacity: each send goes on at once, its message still in E0's lane when the move is asked
        String sender = """
                var sys = require('sys'), s = sys.args[0], where = {};
                for (var i = 1; i <= 400; i++) {
                  s.send(i);
                  var at = sys.self().node; where[at] = (where[at] || 0) + 1;
                  if (i % 20 === 0) sys.sleep(20);
                }
                where
                """;
        String sid = body(call("POST", "/fibrils", json.writeValueAsString(Map.of("source", sender, "node", "E0", "args", List.of(send)))), 201)
                .path("id").asString();
        Thread.sleep(150);
        assertThat(body(call("PUT", "/fibrils/" + sid + "/node?wait=30", "{\"node\":\"E1\"}"), 200).path("node").asString()).isEqualTo("E1");
        JsonNode sent = body(call("GET", "/fibrils/" + sid + "?wait=60", null), 200);
        assertThat(sent.path("state").asString()).as(sent.path("error").asString()).isEqualTo("done");
        assertThat(sent.path("result").path("E0").asInt()).as(sent.path("result").toString()).isPositive();
        assertThat(sent.path("result").path("E1").asInt()).as(sent.path("result").toString()).isPositive();
        // ended means durable: every message is there already, once, in the order sent
        List<Integer> got = new ArrayList<>();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + uri + "/messages?wait=0&max=1000"))
                .header("Authorization", "Bearer " + constellation.token()).header("X-M31-Cap", recvCap);
        json.readTree(http.send(b.build(), HttpResponse.BodyHandlers.ofString()).body()).path("messages").forEach(m -> got.add(m.path("value").asInt()));
        assertThat(got).hasSize(400);
        for (int i = 0; i < 400; i++) assertThat(got.get(i)).as("message %d", i).isEqualTo(i + 1);
    }

    static long handedInMemory(String node) throws Exception {
        return body(call("GET", "/net/node=" + node, null), 200).path("handedInMemory").asLong();
    }

    @Test
    void anAnchoredFibrilRefusesToMoveAndAnUnknownNodeIsNotFound() throws Exception {
        String id = spawnOn("E0", WALKER, 30);
        body(call("PUT", "/fibrils/" + id + "/anchor", "{\"anchored\":true}"), 200);
        HttpResponse<String> refused = call("PUT", "/fibrils/" + id + "/node", "{\"node\":\"E1\"}");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);
        assertThat(refused.headers().firstValue("Content-Type").orElse("")).contains("problem+json");
        body(call("PUT", "/fibrils/" + id + "/anchor", "{\"anchored\":false}"), 200);
        HttpResponse<String> unknown = call("PUT", "/fibrils/" + id + "/node", "{\"node\":\"E9\"}");
        assertThat(unknown.statusCode()).as(unknown.body()).isEqualTo(404);
        JsonNode done = body(call("GET", "/fibrils/" + id + "?wait=30", null), 200);
        assertThat(done.path("state").asString()).isEqualTo("done");
        assertThat(done.path("result").get(3).asString()).isEqualTo("E0");
    }

    @Test
    void aCloneForksOntoTheOtherNodeAndBothFinish() throws Exception {
        String id = spawnOn("E0", WALKER, 30);
        Thread.sleep(500);
        JsonNode clone = body(call("POST", "/fibrils/" + id + "/clone", "{\"node\":\"E1\"}"), 201);
        String cloneId = clone.path("id").asString();
        assertThat(cloneId).isNotEqualTo(id);
        JsonNode original = body(call("GET", "/fibrils/" + id + "?wait=30", null), 200);
        JsonNode copy = body(call("GET", "/fibrils/" + cloneId + "?wait=30", null), 200);
        assertThat(original.path("state").asString()).as(original.path("error").asString()).isEqualTo("done");
        assertThat(copy.path("state").asString()).as(copy.path("error").asString()).isEqualTo("done");
        assertThat(original.path("node").asString()).isEqualTo("E0");
        assertThat(copy.path("node").asString()).isEqualTo("E1");
        assertThat(copy.path("cloneOf").asString()).isEqualTo(id);
        assertThat(original.path("result").get(0).asInt()).isEqualTo(30);
        assertThat(copy.path("result").get(0).asInt()).isEqualTo(30);
        // the clone started where the original was: it too ran its first steps on E0
        assertThat(copy.path("result").get(2).path("E0").asInt()).isPositive();
        assertThat(copy.path("result").get(3).asString()).isEqualTo("E1");
    }

    @Test
    void aForgedPacketIsRefusedAndEveryNodeListsItsFibrils() throws Exception {
        String forged = json.writeValueAsString(Map.of("header", "{\"id\":\"x\",\"to\":\"E1\"}", "state", "AAAA", "sig", "AAAA"));
        HttpResponse<String> refused = direct("POST", constellation.url("E1") + "/net/node=E1/arrivals", forged);
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);

        String a = spawnOn("E0", WALKER, 20);
        String b = spawnOn("E1", WALKER, 20);
        // GET /fibrils on any node answers for the whole constellation
        JsonNode all = json.readTree(direct("GET", constellation.url("E0") + "/fibrils?state=parked", null).body());
        List<String> ids = all.path("fibrils").valueStream().map(f -> f.path("id").asString()).toList();
        assertThat(ids).contains(a, b);
        assertThat(all.path("fibrils").valueStream().map(f -> f.path("state").asString()).distinct().toList()).containsOnly("parked");
    }

    @Test
    void aFibrilActsForTheUserWhoSpawnedItAndSoDoItsChildrenAfterAMove() throws Exception {
        String secret = java.nio.file.Files.readString(constellation.home().resolve("secret")).trim();
        String alice = dev.andromeda.gateway.auth.Tokens.mint(secret, "alice", List.of(), Duration.ofMinutes(5));
        String script = """
                var sys = require('sys');
                for (var i = 0; i < 15; i++) sys.sleep(100);
                var child = sys.spawn(function () { return require('sys').self().id; }, [])[1].recv();
                [sys.self().node, child.ok]
                """;
        HttpResponse<String> spawned = http.send(HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/fibrils"))
                .header("Authorization", "Bearer " + alice).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(Map.of("source", script, "node", "E0")))).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode f = body(spawned, 201);
        assertThat(f.path("owner").asString()).isEqualTo("alice");
        String id = f.path("id").asString();
        Thread.sleep(400);
        body(call("PUT", "/fibrils/" + id + "/node?wait=30", "{\"node\":\"E1\"}"), 200);
        JsonNode done = body(call("GET", "/fibrils/" + id + "?wait=30", null), 200);
        assertThat(done.path("state").asString()).as(done.path("error").asString()).isEqualTo("done");
        assertThat(done.path("result").get(0).asString()).isEqualTo("E1");
        // the move kept whom it acts for, and its child, spawned through the scheduler after the move, acts for alice too
        assertThat(done.path("owner").asString()).isEqualTo("alice");
        String childId = done.path("result").get(1).asString();
        assertThat(body(call("GET", "/fibrils/" + childId, null), 200).path("owner").asString()).isEqualTo("alice");
        // a fibril spawned by the admin acts for the admin
        assertThat(body(call("GET", "/fibrils/" + spawnOn("E1", "1"), null), 200).path("owner").asString()).isEqualTo("admin");
    }

    // --- helpers ------------------------------------------------------------------------

    @Test
    void aLongPollOnAFibrilThatMovesMeanwhileFollowsItAndAnswersItsEnd() throws Exception {
        String id = spawnOn("E0", "var sys = require('sys'); sys.sleep(1500); sys.migrate('E1'); sys.sleep(500); sys.self().node");
        long t0 = System.nanoTime();
        // asked of E0 before the move: E0 answers 404 when the fibril leaves, the gateway asks naming
        // again and waits on E1 (before, E0 held the request its full wait and answered "running")
        JsonNode done = body(call("GET", "/fibrils/" + id + "?wait=30", null), 200);
        assertThat(done.path("state").asString()).as(done.toString()).isEqualTo("done");
        assertThat(done.path("node").asString()).isEqualTo("E1");
        assertThat(done.path("result").asString()).isEqualTo("E1");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(15));
    }

    static String spawnOn(String node, String script, Object... args) throws Exception {
        String body = json.writeValueAsString(Map.of("source", script, "node", node, "args", List.of(args)));
        JsonNode f = body(call("POST", "/fibrils", body), 201);
        assertThat(f.path("node").asString()).isEqualTo(node);
        return f.path("id").asString();
    }

    static void send(String ch, int value, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + "/ch/" + ch + "/messages"))
                .header("Authorization", "Bearer " + constellation.token()).header("Content-Type", "application/json")
                .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofString(String.valueOf(value)));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    }

    static void awaitState(String id, String state) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        String seen = "";
        while (System.nanoTime() < deadline) {
            seen = body(call("GET", "/fibrils/" + id, null), 200).path("state").asString();
            if (seen.equals(state)) return;
            Thread.sleep(50);
        }
        throw new AssertionError(id + " never became " + state + " (last " + seen + ")");
    }

    static void awaitNode(String id, String node) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        String seen = "";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = call("GET", "/fibrils/" + id, null);
            if (r.statusCode() == 200) {
                seen = json.readTree(r.body()).path("node").asString();
                if (seen.equals(node)) return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(id + " never reached node " + node + " (last " + seen + ")");
    }

    static JsonNode body(HttpResponse<String> r, int status) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return json.readTree(r.body());
    }

    static HttpResponse<String> call(String method, String path, String body) throws Exception {
        return direct(method, constellation.gatewayUrl() + path, body);
    }

    /**
     * With the admin token (what the gateway checks) and, for calls straight to a node past the
     * gateway, an identity signed as the gateway would sign it (the gateway strips a client's).
     */
    static HttpResponse<String> direct(String method, String url, String body) throws Exception {
        String identity = constellation.internalIdentity().sign(
                dev.andromeda.common.security.Caller.of("admin", List.of("admin")), method, URI.create(url).getRawPath());
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(90))
                .header("Authorization", "Bearer " + constellation.token())
                .header(dev.andromeda.common.security.InternalIdentity.HEADER, identity)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
