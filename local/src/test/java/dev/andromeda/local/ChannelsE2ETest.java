package dev.andromeda.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Channels through the gateway of a whole constellation: capabilities, NDJSON batches, streams,
 * sync sends, cloned endpoints; and from fibrils through the real service: a channel a fibril
 * opened (with capabilities) read by a user with its cap only, an endpoint without its cap
 * refused, a full channel that parks its sender until there is room, sync rendezvous between
 * fibrils on two nodes.
 */
class ChannelsE2ETest extends ConstellationTestBase {

    // HTTP/1.1: streams are read as they come
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void aChannelWithCapabilitiesCarriesBatchesThroughTheGateway() throws Exception {
        JsonNode ch = json.readTree(call("POST", "/ch", "{\"type\":{\"Either\":[\"Int\",\"Str\"]},\"capabilities\":true}", Map.of()).body());
        String path = ch.get("uri").asString();
        String send = ch.get("send").get("cap").asString(), recv = ch.get("recv").get("cap").asString();

        assertThat(call("POST", path + "/messages", "1", Map.of()).statusCode()).isEqualTo(403);
        HttpResponse<String> batch = call("POST", path + "/messages", "1\n\"two\"\n3\n", Map.of("X-M31-Cap", send, "Content-Type", "application/x-ndjson"));
        assertThat(batch.statusCode()).as(batch.body()).isEqualTo(202);
        assertThat(json.readTree(batch.body()).get("count").asInt()).isEqualTo(3);
        HttpResponse<String> wrong = call("POST", path + "/messages", "4\n4.5\n", Map.of("X-M31-Cap", send, "Content-Type", "application/x-ndjson"));
        assertThat(wrong.statusCode()).isEqualTo(422);
        assertThat(json.readTree(wrong.body()).get("field").asString()).isEqualTo("[1]$");

        assertThat(call("GET", path + "/messages?wait=0", null, Map.of()).statusCode()).isEqualTo(403);
        // a broadcast clone, then the channel's own endpoint takes everything
        JsonNode clone = json.readTree(call("POST", path + "/endpoints", "{\"end\":\"recv\",\"mode\":\"broadcast\"}", Map.of("X-M31-Cap", recv)).body());
        JsonNode got = json.readTree(call("GET", path + "/messages?wait=10&max=10", null, Map.of("X-M31-Cap", recv)).body());
        assertThat(got.get("messages")).extracting(m -> m.get("value").toString()).containsExactly("1", "\"two\"", "3");
        // the clone reads the same messages as an SSE stream
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + path + "/messages?ack=auto"))
                .header("Authorization", "Bearer " + constellation.token())
                .header("Accept", "text/event-stream").header("X-M31-Cap", clone.get("cap").asString());
        HttpResponse<java.io.InputStream> stream = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        List<String> data = new ArrayList<>();
        try (var in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            for (String line; data.size() < 3 && (line = in.readLine()) != null; ) {
                if (line.startsWith("data: ")) data.add(line.substring(6));
            }
        }
        assertThat(data).containsExactly("1", "\"two\"", "3");
    }

    @Test
    void aSyncSendThatNobodyTakesIsWithdrawn() throws Exception {
        String path = json.readTree(call("POST", "/ch", "{\"type\":\"Int\",\"mode\":\"sync\"}", Map.of()).body()).get("uri").asString();
        HttpResponse<String> r = call("POST", path + "/messages?wait=1", "5", Map.of());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(408);
        JsonNode none = json.readTree(call("GET", path + "/messages?wait=1", null, Map.of()).body());
        assertThat(none.get("messages").size()).isZero();
    }

    @Test
    void aUserReadsAChannelAFibrilOpenedAndWroteToWithItsCapabilityOnly() throws Exception {
        String script = "var chan = require('chan'); var p = chan.open('Int');"
                + " for (var i = 1; i <= 5; i++) p[0].send(i); p[1];";
        HttpResponse<String> spawned = call("POST", "/fibrils", json.writeValueAsString(Map.of("source", script)), Map.of());
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        String id = json.readTree(spawned.body()).get("id").asString();
        JsonNode f = json.readTree(call("GET", "/fibrils/" + id + "?wait=60", null, Map.of()).body());
        assertThat(f.get("state").asString()).as(f.toString()).isEqualTo("done");
        String ch = f.get("result").get("$ch").asString();
        String cap = f.get("result").get("cap").asString();
        // the nucleus opens every channel with capabilities: without the recv cap, nothing
        assertThat(call("GET", ch + "/messages?wait=0", null, Map.of()).statusCode()).isEqualTo(403);
        List<Integer> got = new ArrayList<>();
        for (int tries = 0; got.size() < 5 && tries < 10; tries++) {
            json.readTree(call("GET", ch + "/messages?wait=5", null, Map.of("X-M31-Cap", cap)).body()).get("messages").forEach(m -> got.add(m.get("value").asInt()));
        }
        assertThat(got).containsExactly(1, 2, 3, 4, 5);
    }

    @Test
    void aFibrilHoldingAnEndpointWithoutItsCapabilityIsRefused() throws Exception {
        JsonNode ch = json.readTree(call("POST", "/ch", "{\"type\":\"Int\",\"capabilities\":true}", Map.of()).body());
        String uri = ch.get("uri").asString();
        String recvCap = ch.get("recv").get("cap").asString();
        call("POST", uri + "/messages", "7", Map.of("X-M31-Cap", ch.get("send").get("cap").asString()));
        String script = "var a = require('sys').args, r = [];"
                + " try { a[0].recv(); r.push('took it'); } catch (e) { r.push(String(e.message)); }"
                + " r.push(a[1].recv()); r";
        List<Object> args = List.of(Map.of("$ch", uri, "end", "recv"), Map.of("$ch", uri, "end", "recv", "cap", recvCap));
        HttpResponse<String> spawned = call("POST", "/fibrils", json.writeValueAsString(Map.of("source", script, "args", args)), Map.of());
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        String id = json.readTree(spawned.body()).get("id").asString();
        JsonNode f = json.readTree(call("GET", "/fibrils/" + id + "?wait=60", null, Map.of()).body());
        assertThat(f.get("state").asString()).as(f.toString()).isEqualTo("done");
        assertThat(f.get("result").get(0).asString()).contains("capability").doesNotContain("took it");
        // the same endpoint with its cap, passed in the spawn arguments, arrives live and receives
        assertThat(f.get("result").get(1).asInt()).isEqualTo(7);
    }

    @Test
    void aFibrilSenderOfAFullChannelWaitsForRoomAndNothingIsLostOrDoubled() throws Exception {
        // capacity 3, ten sends: the nucleus's batch is too big (400), then single sends meet 429s until a receiver drains
        String script = """
                var chan = require('chan'), sys = require('sys');
                var p = chan.open('Int', {capacity: 3});
                function sender(out) { var t0 = Date.now(); for (var i = 1; i <= 10; i++) out.send(i); return Date.now() - t0; }
                var kid = sys.spawn(sender, [p[0]]);
                sys.sleep(2500);
                var got = []; for (var j = 0; j < 10; j++) got.push(p[1].recv());
                [got, kid[1].recv().ok]
                """;
        JsonNode f = runFibril(script);
        assertThat(f.get("result").get(0).toString()).isEqualTo("[1,2,3,4,5,6,7,8,9,10]");
        assertThat(f.get("result").get(1).asLong()).as("the sender waited for room").isGreaterThanOrEqualTo(2000);
    }

    @Test
    void aSyncSendBetweenFibrilsCompletesOnlyWhenTheReceiverTookIt() throws Exception {
        String script = """
                var chan = require('chan'), sys = require('sys');
                var p = chan.open('Str', {mode: 'sync'});
                function sender(out) { var t0 = Date.now(); out.send('hi'); var t1 = Date.now(); out.send('again'); return [t1 - t0, Date.now() - t1]; }
                var kid = sys.spawn(sender, [p[0]], {node: 'E1'});
                sys.sleep(1500);
                var a = p[1].recv(); sys.sleep(500); var b = p[1].recv();
                [a, b, kid[1].recv().ok]
                """;
        JsonNode f = runFibril(script);
        JsonNode r = f.get("result");
        assertThat(r.get(0).asString()).isEqualTo("hi");
        assertThat(r.get(1).asString()).isEqualTo("again");
        assertThat(r.get(2).get(0).asLong()).as("first rendezvous").isGreaterThanOrEqualTo(1200);
        assertThat(r.get(2).get(1).asLong()).as("second rendezvous").isGreaterThanOrEqualTo(300);
    }

    @Test
    void twoFibrilWorkersOnOneReceiveEndpointConsumeEveryMessageOnceThoughOneIsKilledHoldingMessages() throws Exception {
        JsonNode in = json.readTree(call("POST", "/ch", "{\"type\":\"Int\",\"capabilities\":true}", Map.of()).body());
        JsonNode out = json.readTree(call("POST", "/ch", "{\"type\":\"Int\",\"capabilities\":true}", Map.of()).body());
        String inPath = in.get("uri").asString(), outPath = out.get("uri").asString();
        String inSend = in.get("send").get("cap").asString(), inRecv = in.get("recv").get("cap").asString();
        StringBuilder lines = new StringBuilder();
        for (int i = 1; i <= 40; i++) lines.append(i).append('\n');
        HttpResponse<String> sent = call("POST", inPath + "/messages", lines.toString(), Map.of("X-M31-Cap", inSend, "Content-Type", "application/x-ndjson"));
        assertThat(sent.statusCode()).as(sent.body()).isEqualTo(202);
        // each worker passes on what it consumed; A is slow and holds a leased batch it has not consumed when it is killed
        String worker = """
                var sys = require('sys'), r = sys.args[0], o = sys.args[1], pause = sys.args[2], n = 0;
                for (var v = r.recv(); v !== null; v = r.recv()) { o.send(v); n++; if (pause) sys.sleep(pause); }
                n
                """;
        List<Object> recv = List.of(Map.of("$ch", inPath, "end", "recv", "cap", inRecv), Map.of("$ch", outPath, "end", "send", "cap", out.get("send").get("cap").asString()));
        String outRecv = out.get("recv").get("cap").asString();
        List<Integer> got = new ArrayList<>();
        // A takes batches of 1, 2, 4: once it passed on 4, it holds 5..7 and consumes one a second
        // (so it still holds some when it is killed, even on a busy machine)
        String a = spawn(worker, "E0", recv, 1000);
        collect(outPath, outRecv, got, 4);
        // B takes the rest at once and acknowledges it (its ack must not cover what A holds)
        String b = spawn(worker, "E1", recv, 0);
        collect(outPath, outRecv, got, 37);
        HttpResponse<String> killed = call("DELETE", "/fibrils/" + a, null, Map.of());
        assertThat(killed.statusCode()).as(killed.body()).isEqualTo(200);
        // what A held and had not consumed goes to B at once; then the channel closes and B ends
        collect(outPath, outRecv, got, 40);
        assertThat(call("DELETE", inPath, null, Map.of("X-M31-Cap", inSend)).statusCode()).isEqualTo(204);
        JsonNode fb = json.readTree(call("GET", "/fibrils/" + b + "?wait=60", null, Map.of()).body());
        assertThat(fb.get("state").asString()).as(fb.toString()).isEqualTo("done");
        assertThat(json.readTree(call("GET", outPath + "/messages?wait=1", null, Map.of("X-M31-Cap", outRecv)).body()).get("messages")).isEmpty();
        assertThat(got.stream().sorted().toList()).as("each of 1..40 passed on exactly once (B passed on %d)", fb.get("result").asInt())
                .isEqualTo(java.util.stream.IntStream.rangeClosed(1, 40).boxed().toList());
        assertThat(fb.get("result").asInt()).as("B passed on what A held and did not consume").isGreaterThan(33);
        JsonNode view = json.readTree(call("GET", inPath, null, Map.of("X-M31-Cap", inRecv)).body());
        assertThat(view.get("received").asLong()).isEqualTo(40);
    }

    /** Receives from {@code path} into {@code got} until it holds {@code n} (30 s at most). */
    static void collect(String path, String cap, List<Integer> got, int n) throws Exception {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            json.readTree(call("GET", path + "/messages?wait=1&max=100", null, Map.of("X-M31-Cap", cap)).body())
                    .get("messages").forEach(m -> got.add(m.get("value").asInt()));
        }
        assertThat(got.size()).as("passed on so far: " + got).isGreaterThanOrEqualTo(n);
    }

    static String spawn(String script, String node, List<Object> endpoints, int pause) throws Exception {
        List<Object> args = new ArrayList<>(endpoints);
        args.add(pause);
        HttpResponse<String> spawned = call("POST", "/fibrils", json.writeValueAsString(Map.of("source", script, "node", node, "args", args)), Map.of());
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        return json.readTree(spawned.body()).get("id").asString();
    }

    static JsonNode runFibril(String script) throws Exception {
        HttpResponse<String> spawned = call("POST", "/fibrils", json.writeValueAsString(Map.of("source", script, "node", "E0")), Map.of());
        assertThat(spawned.statusCode()).as(spawned.body()).isEqualTo(201);
        String id = json.readTree(spawned.body()).get("id").asString();
        JsonNode f = json.readTree(call("GET", "/fibrils/" + id + "?wait=60", null, Map.of()).body());
        assertThat(f.get("state").asString()).as(f.toString()).isEqualTo("done");
        return f;
    }

    static HttpResponse<String> call(String method, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(constellation.gatewayUrl() + path))
                .header("Authorization", "Bearer " + constellation.token())
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null && !headers.containsKey("Content-Type")) b.header("Content-Type", "application/json");
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
