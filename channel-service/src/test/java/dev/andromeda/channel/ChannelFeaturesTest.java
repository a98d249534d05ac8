package dev.andromeda.channel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/** Issue 5: batches, unions, capabilities, endpoints in messages, capacity, sync, clones, acks, streams, exactly once. */
class ChannelFeaturesTest extends ChannelTestBase {

    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Autowired JdbcTemplate jdbc;

    private TestHttp.Response ndjson(String path, String body, Map<String, String> headers) {
        return http.request("POST", path + "/messages", body, "application/x-ndjson", headers);
    }

    @Test
    void anNdjsonBatchIsCheckedWholeBeforeAnythingIsSent() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        var r = ndjson(path, "1\n2\n3\n\"four\"\n5\n", Map.of());
        assertProblem(r, 422, "[3]$");
        assertThat(http.get(path).json().get("sent").asLong()).isZero();
        assertProblem(ndjson(path, "1\n{oops\n", Map.of()), 400, "[1]");

        r = ndjson(path, "1\n2\n\n3\n4\n5\n", Map.of("Idempotency-Key", "batch-1"));
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(r.json().get("count").asInt()).isEqualTo(5);
        long first = r.json().get("seq").asLong(), last = r.json().get("last").asLong();
        assertThat(last).isGreaterThan(first);
        // the whole batch retried: not sent again
        r = ndjson(path, "1\n2\n3\n4\n5\n", Map.of("Idempotency-Key", "batch-1"));
        assertThat(r.json().get("duplicate").asBoolean()).isTrue();
        assertThat(r.json().get("seq").asLong()).isEqualTo(first);
        List<JsonNode> got = receiveAll(path, 5, 100);
        assertThat(ints(got)).containsExactly(1, 2, 3, 4, 5);
        assertThat(got.get(0).get("seq").asLong()).isEqualTo(first);
        assertThat(got.get(4).get("seq").asLong()).isEqualTo(last);
        assertThat(http.get(path + "/messages?wait=1").json().get("messages").size()).isZero();
    }

    /** Lines are split on LF (a CR before it and blanks around a value are JSON whitespace); text arrives as it was sent. */
    @Test
    void ndjsonLinesAreSplitAndKeptByteForByte() {
        String path = create("{}").get("uri").asString();
        // two values on one line are not one message
        assertProblem(ndjson(path, "1\n2 3\n", Map.of()), 400, "[1]");
        assertThat(http.get(path).json().get("sent").asLong()).isZero();
        var r = ndjson(path, "  {\"s\":\"ünïcödé 😀 \\u00e9\"}\r\n\t\r\n[1, 2]  \r\n\"last\"", Map.of());
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(r.json().get("count").asInt()).isEqualTo(3);
        List<JsonNode> got = receiveAll(path, 3, 10);
        assertThat(got.get(0).get("value").get("s").asString()).isEqualTo("ünïcödé 😀 é");
        assertThat(got.get(1).get("value").toString()).isEqualTo("[1,2]");
        assertThat(got.get(2).get("value").asString()).isEqualTo("last");
    }

    /**
     * Lines of a channel of a type name are checked by their value's kind, without a tree: what a
     * tree would refuse is still refused (bad escapes, raw control characters, broken UTF-8, an
     * unclosed value), and only an object member named $ch, not the text "$ch", is an endpoint.
     */
    @Test
    void batchLinesCheckedByKindStillRefuseWhatIsNotJson() throws Exception {
        String ints = create("{\"type\":\"Int\"}").get("uri").asString();
        assertProblem(ndjson(ints, "1\n2.5\n", Map.of()), 422, "[1]$");
        assertThat(ndjson(ints, "1\n1e3\n", Map.of()).json().get("detail").asString()).contains("got a number");
        assertProblem(ndjson(ints, "1\n[1\n", Map.of()), 400, "[1]");
        String strs = create("{\"type\":\"Str\"}").get("uri").asString();
        assertProblem(ndjson(strs, "\"a\"\n\"b\\qc\"\n", Map.of()), 400, "[1]");
        assertProblem(ndjson(strs, "\"a\"\n\"tab\there\"\n", Map.of()), 400, "[1]");
        byte[] badUtf8 = {'"', 'a', '"', '\n', '"', (byte) 0xC3, (byte) 0x28, '"', '\n'};
        var raw = CLIENT.send(HttpRequest.newBuilder(URI.create(http.base() + strs + "/messages"))
                .header("Content-Type", "application/x-ndjson").POST(HttpRequest.BodyPublishers.ofByteArray(badUtf8)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(raw.statusCode()).as(raw.body()).isEqualTo(400);
        assertThat(JSON.readTree(raw.body()).get("field").asString()).isEqualTo("[1]");
        assertThat(http.get(ints).json().get("sent").asLong()).isZero();
        assertThat(http.get(strs).json().get("sent").asLong()).isZero();

        String either = create("{\"type\":{\"Either\":[\"Int\",\"Str\"]}}").get("uri").asString();
        var bad = ndjson(either, "7\n\"seven\"\ntrue\n", Map.of());
        assertProblem(bad, 422, "[2]$");
        assertThat(bad.json().get("detail").asString()).contains("none of").contains("got a boolean");
        String floats = create("{\"type\":\"Float\"}").get("uri").asString();
        assertThat(ndjson(floats, "7\n7.5\n-1e-3\n", Map.of()).status()).isEqualTo(202);
        assertThat(ndjson(either, "7\n\"seven\"\n", Map.of()).status()).isEqualTo(202);
        String objs = create("{\"type\":\"Obj\"}").get("uri").asString();
        var fine = ndjson(objs, "{\"note\":\"costs $ch 5\",\"$ch\u00e9\":1}\n{\"a\":{\"b\":[{\"c\":\"\\\\\"}]}}\n", Map.of());
        assertThat(fine.status()).as(fine.body()).isEqualTo(202);
        assertProblem(ndjson(objs, "{\"a\":1}\n{\"deep\":[[{\"$ch\":\"/fs/x\",\"end\":\"recv\"}]]}\n", Map.of()), 422, "[1]$.deep[0][0].$ch");
        List<JsonNode> got = receiveAll(objs, 2, 10);
        assertThat(got.get(0).get("value").get("note").asString()).isEqualTo("costs $ch 5");
        assertThat(got.get(1).get("value").get("a").get("b").get(0).get("c").asString()).isEqualTo("\\");
        assertThat(receiveAll(floats, 3, 10)).extracting(m -> m.get("value").asDouble()).containsExactly(7.0, 7.5, -0.001);

        // a JSON Schema channel parses each line into its tree once: the same refusals hold there
        String schema = create("{\"type\":{\"type\":\"object\",\"required\":[\"a\"]}}").get("uri").asString();
        assertProblem(ndjson(schema, "{\"a\":1}\n{\"a\":1} 2\n", Map.of()), 400, "[1]");
        assertProblem(ndjson(schema, "{\"a\":1}\n{oops\n", Map.of()), 400, "[1]");
        assertProblem(ndjson(schema, "{\"a\":1}\n{\"b\":1}\n", Map.of()), 422, "[1]");
        assertProblem(ndjson(schema, "{\"a\":{\"\\u0024ch\":\"/fs/x\",\"end\":\"recv\"}}\n", Map.of()), 422, "[0]$.a.$ch");
        assertThat(http.get(schema).json().get("sent").asLong()).isZero();
        assertThat(ndjson(schema, "{\"a\":1}\n{\"a\":\"two\"}\n", Map.of()).status()).isEqualTo(202);
        assertThat(receiveAll(schema, 2, 10)).extracting(m -> m.get("value").get("a").asString()).containsExactly("1", "two");
    }

    @Test
    void anEitherTypeTakesAnyOfItsMembers() {
        String path = create("{\"type\":{\"Either\":[\"Int\",\"Str\",{\"type\":\"object\",\"required\":[\"k\"]}]}}").get("uri").asString();
        send(path, "1");
        send(path, "\"one\"");
        send(path, "{\"k\":true}");
        var r = http.post(path + "/messages", "1.5");
        assertProblem(r, 422, "$");
        assertThat(r.json().get("detail").asString()).contains("none of");
        assertProblem(http.post(path + "/messages", "{\"j\":1}"), 422, "$");
        assertThat(receiveAll(path, 3, 10)).hasSize(3);
        assertProblem(http.post("/ch", "{\"type\":{\"Either\":[]}}"), 400, "type");
        assertProblem(http.post("/ch", "{\"type\":{\"Either\":[\"Int\",\"Banana\"]}}"), 400, "type");
    }

    @Test
    void capabilitiesGuardEveryCallOfAChannelThatAsksForThem() {
        JsonNode ch = create("{\"type\":\"Int\",\"capabilities\":true}");
        String path = ch.get("uri").asString();
        String sendCap = ch.get("send").get("cap").asString(), recvCap = ch.get("recv").get("cap").asString();
        assertThat(ch.get("send").get("$ch").asString()).isEqualTo(path);
        assertThat(ch.get("send").get("end").asString()).isEqualTo("send");
        assertThat(ch.get("recv").get("end").asString()).isEqualTo("recv");
        assertThat(sendCap).isNotEqualTo(recvCap);

        assertProblem(http.post(path + "/messages", "1"), 403, "cap");
        assertProblem(withCap("POST", path + "/messages", "1", recvCap), 403, "cap");
        String forged = sendCap.substring(0, sendCap.length() - 2) + (sendCap.endsWith("AA") ? "BB" : "AA");
        assertProblem(withCap("POST", path + "/messages", "1", forged), 403, "cap");
        // a cap of another channel is no cap of this one
        String otherCap = create("{\"capabilities\":true}").get("send").get("cap").asString();
        assertProblem(withCap("POST", path + "/messages", "1", otherCap), 403, "cap");
        assertThat(withCap("POST", path + "/messages", "1", sendCap).status()).isEqualTo(202);
        assertThat(http.post(path + "/messages?cap=" + TestHttp.enc(sendCap), "2").status()).isEqualTo(202);

        assertProblem(http.get(path + "/messages?wait=0"), 403, "cap");
        assertProblem(withCap("GET", path + "/messages?wait=0", null, sendCap), 403, "cap");
        assertProblem(http.get(path), 403, "cap");
        assertThat(withCap("GET", path, null, recvCap).json().get("capabilities").asBoolean()).isTrue();
        assertProblem(withCap("DELETE", path, null, recvCap), 403, "cap");
        List<JsonNode> got = new ArrayList<>();
        for (int tries = 0; got.size() < 2 && tries < 10; tries++) {
            var r = withCap("GET", path + "/messages?wait=5&max=" + (2 - got.size()), null, recvCap);
            assertThat(r.status()).isEqualTo(200);
            got.addAll(list(r.json().get("messages")));
        }
        assertThat(ints(got)).containsExactly(1, 2);

        // a channel made without "capabilities" (as the nucleus makes them) works cap-less, and checks a cap that is shown
        JsonNode open = create("{\"type\":\"Any\",\"mode\":\"async\"}");
        assertThat(open.get("capabilities").asBoolean()).isFalse();
        String op = open.get("uri").asString();
        send(op, "1");
        assertProblem(withCap("POST", op + "/messages", "2", forged), 403, "cap");
        assertThat(withCap("POST", op + "/messages", "3", open.get("send").get("cap").asString()).status()).isEqualTo(202);
        assertThat(ints(receiveAll(op, 2, 10))).containsExactly(1, 3);
    }

    @Test
    void endpointsTravelInsideMessagesAndMalformedOnesAreRefused() {
        JsonNode target = create("{\"capabilities\":true}");
        String path = create("{}").get("uri").asString();
        JsonNode ep = target.get("recv");
        String msg = "{\"reply\":{\"$ch\":\"" + ep.get("$ch").asString() + "\",\"end\":\"recv\",\"cap\":\"" + ep.get("cap").asString() + "\"},\"n\":1}";
        send(path, msg);
        send(path, "[{\"$ch\":\"" + ep.get("$ch").asString() + "\",\"end\":\"send\"}]"); // the nucleus's form, without cap
        assertProblem(http.post(path + "/messages", "{\"r\":{\"$ch\":\"/fs/x\",\"end\":\"recv\"}}"), 422, "$.r.$ch");
        assertProblem(http.post(path + "/messages", "{\"r\":{\"$ch\":\"" + ep.get("$ch").asString() + "\",\"end\":\"both\"}}"), 422, "$.r.end");
        assertProblem(http.post(path + "/messages", "{\"r\":{\"$ch\":\"" + ep.get("$ch").asString() + "\",\"end\":\"recv\",\"x\":1}}"), 422, "$.r.x");
        // a send cap presented as a recv endpoint, or a made-up one
        assertProblem(http.post(path + "/messages", "{\"r\":{\"$ch\":\"" + ep.get("$ch").asString() + "\",\"end\":\"recv\",\"cap\":\""
                + target.get("send").get("cap").asString() + "\"}}"), 422, "$.r.cap");
        assertProblem(http.post(path + "/messages", "{\"r\":{\"$ch\":\"" + ep.get("$ch").asString() + "\",\"end\":\"recv\",\"cap\":\"r0.xyz\"}}"), 422, "$.r.cap");
        // in a batch (checked on the lines' own bytes), and with the member's name written with an escape
        assertProblem(ndjson(path, "{\"n\":1}\n[1,{\"a\":[{\"$ch\":\"/fs/x\",\"end\":\"recv\"}]}]\n", Map.of()), 422, "[1]$[1].a[0].$ch");
        assertProblem(ndjson(path, "{\"n\":1}\n{\"r\":{\"\\u0024ch\":\"/fs/x\",\"end\":\"recv\"}}\n", Map.of()), 422, "[1]$.r.$ch");
        assertThat(http.get(path).json().get("sent").asLong()).isEqualTo(2);
        List<JsonNode> got = receiveAll(path, 2, 10);
        JsonNode travelled = got.get(0).get("value").get("reply");
        assertThat(travelled).isEqualTo(JSON.readTree(msg).get("reply"));
        // and the cap that travelled opens the endpoint
        assertThat(withCap("GET", travelled.get("$ch").asString() + "/messages?wait=0", null, travelled.get("cap").asString()).status()).isEqualTo(200);
    }

    @Test
    void aFullChannelAnswers429WithRetryAfter() {
        String path = create("{\"capacity\":2}").get("uri").asString();
        send(path, "1");
        send(path, "2");
        var r = http.post(path + "/messages", "3");
        assertProblem(r, 429, null);
        assertThat(r.body()).contains("capacity 2");
        var raw = CLIENT.sendAsync(HttpRequest.newBuilder(URI.create(http.base() + path + "/messages"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("3")).build(),
                HttpResponse.BodyHandlers.ofString()).join();
        assertThat(raw.statusCode()).isEqualTo(429);
        assertThat(raw.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(http.get(path).json().get("backlog").asLong()).isEqualTo(2);
        assertThat(ints(receiveAll(path, 1, 1))).containsExactly(1);
        send(path, "3");
        assertThat(ints(receiveAll(path, 2, 10))).containsExactly(2, 3);
    }

    @Test
    void aSyncSendCompletesWhenTakenAndIsWithdrawnWhenNot() throws Exception {
        String path = create("{\"type\":\"Int\",\"mode\":\"sync\"}").get("uri").asString();
        // nobody receives: 408, and the message is never delivered
        var r = http.sendIdempotent("POST", path + "/messages?wait=1", "1", "sync-1");
        assertProblem(r, 408, "wait");
        assertThat(r.json().get("type").asString()).endsWith("not-taken");
        // it is not counted as sent: the backlog shows nothing a receiver could still get
        JsonNode after = http.get(path).json();
        assertThat(after.get("sent").asLong()).isZero();
        assertThat(after.get("backlog").asLong()).isZero();
        // the withdrawn send's key is free again: the retry is a new send (taken this time), delivered once
        CompletableFuture<TestHttp.Response> first = CompletableFuture.supplyAsync(() -> http.get(path + "/messages?wait=20"));
        sleep(300);
        var again = http.sendIdempotent("POST", path + "/messages?wait=20", "1", "sync-1");
        assertThat(again.status()).as(again.body()).isEqualTo(202);
        assertThat(again.json().get("duplicate").asBoolean()).isFalse();
        assertThat(ints(list(first.get(30, TimeUnit.SECONDS).json().get("messages")))).containsExactly(1);
        // a receiver waits: the send completes when it took the message
        CompletableFuture<TestHttp.Response> receiver = CompletableFuture.supplyAsync(() -> http.get(path + "/messages?wait=20"));
        sleep(300);
        var sent = CompletableFuture.supplyAsync(() -> http.post(path + "/messages?wait=20", "2"));
        assertThat(sent.get(30, TimeUnit.SECONDS).status()).isEqualTo(202);
        assertThat(ints(list(receiver.get(30, TimeUnit.SECONDS).json().get("messages")))).containsExactly(2);
        // a sender waits first: it is not done until the receiver comes
        var pending = CompletableFuture.supplyAsync(() -> http.post(path + "/messages?wait=20", "3"));
        sleep(500);
        assertThat(pending).isNotDone();
        assertThat(ints(receiveAll(path, 1, 10))).containsExactly(3);
        assertThat(pending.get(30, TimeUnit.SECONDS).status()).isEqualTo(202);
        assertThat(http.get(path + "/messages?wait=1").json().get("messages").size()).isZero();
        JsonNode counted = http.get(path).json();
        assertThat(counted.get("sent").asLong()).isEqualTo(3);
        assertThat(counted.get("backlog").asLong()).isZero();
        assertProblem(ndjson(path, "4\n5\n", Map.of()), 400, "body");
    }

    @Test
    void sharedClonesSplitTheStreamAndBroadcastClonesEachGetAll() {
        JsonNode ch = create("{\"type\":\"Int\",\"capabilities\":true}");
        String path = ch.get("uri").asString();
        String sendCap = ch.get("send").get("cap").asString(), recvCap = ch.get("recv").get("cap").asString();
        // a second sender
        var s2 = withCap("POST", path + "/endpoints", "{\"end\":\"send\"}", sendCap);
        assertThat(s2.status()).as(s2.body()).isEqualTo(201);
        String sendCap2 = s2.json().get("cap").asString();
        assertProblem(withCap("POST", path + "/endpoints", "{\"end\":\"send\"}", recvCap), 403, "cap");
        // a shared receiver and a broadcast one, both cloned from the channel's recv endpoint
        String shared = withCap("POST", path + "/endpoints", "{\"end\":\"recv\",\"mode\":\"shared\"}", recvCap).json().get("cap").asString();
        var b = withCap("POST", path + "/endpoints", "{\"end\":\"recv\",\"mode\":\"broadcast\"}", recvCap);
        assertThat(b.status()).isEqualTo(201);
        String broadcast = b.json().get("cap").asString();
        assertThat(b.json().get("end").asString()).isEqualTo("recv");

        for (int i = 1; i <= 20; i++) assertThat(withCap("POST", path + "/messages", Integer.toString(i), i % 2 == 0 ? sendCap : sendCap2).status()).isEqualTo(202);
        List<Integer> a = new ArrayList<>(), c = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (a.size() + c.size() < 20 && System.nanoTime() < deadline) {
            withCap("GET", path + "/messages?wait=2&max=3", null, recvCap).json().get("messages").forEach(m -> a.add(m.get("value").asInt()));
            withCap("GET", path + "/messages?wait=2&max=3", null, shared).json().get("messages").forEach(m -> c.add(m.get("value").asInt()));
        }
        assertThat(a).isNotEmpty().isSorted();
        assertThat(c).isNotEmpty().isSorted();
        Set<Integer> union = new HashSet<>(a);
        union.addAll(c);
        assertThat(union).hasSize(20);
        assertThat(a.size() + c.size()).isEqualTo(20); // each message to exactly one of them
        // the broadcast clone has its own cursor: all twenty, in order
        List<Integer> all = new ArrayList<>();
        while (all.size() < 20 && System.nanoTime() < deadline) {
            withCap("GET", path + "/messages?wait=2&max=7", null, broadcast).json().get("messages").forEach(m -> all.add(m.get("value").asInt()));
        }
        assertThat(all).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20);
        JsonNode info = withCap("GET", path, null, recvCap).json();
        assertThat(info.get("endpoints").size()).isEqualTo(5);
    }

    @Test
    void aSyncChannelTakesSharedRecvClonesButNoBroadcastOnes() {
        JsonNode ch = create("{\"type\":\"Int\",\"mode\":\"sync\",\"capabilities\":true}");
        String path = ch.get("uri").asString();
        String recvCap = ch.get("recv").get("cap").asString();
        assertProblem(withCap("POST", path + "/endpoints", "{\"end\":\"recv\",\"mode\":\"broadcast\"}", recvCap), 409, "mode");
        assertThat(withCap("POST", path + "/endpoints", "{\"end\":\"recv\",\"mode\":\"shared\"}", recvCap).status()).isEqualTo(201);
        // nothing was made by the refused clone: r0, s0 and the shared clone
        assertThat(withCap("GET", path, null, recvCap).json().get("endpoints").size()).isEqualTo(3);
    }

    @Test
    void manualAckLeasesAndAnExpiredLeaseRedelivers() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        for (int i = 1; i <= 4; i++) send(path, Integer.toString(i));
        Taken first = take(path, "wait=5&ack=manual&lease=1", 2);
        assertThat(ints(first.messages())).containsExactly(1, 2);
        assertThat(first.last().get("lease").asInt()).isEqualTo(1);
        // leased: the next receiver gets what follows
        assertThat(ints(list(http.get(path + "/messages?wait=5&max=1&ack=manual&lease=30").json().get("messages")))).containsExactly(3);
        sleep(1300);
        // the lease of 1 and 2 ran out: they come again first, in order, then what is new; 3 stays leased to its receiver
        List<JsonNode> again = list(http.get(path + "/messages?wait=5&max=10&ack=manual&lease=30").json().get("messages"));
        assertThat(ints(again)).containsExactly(1, 2, 4);
        long upTo = again.get(1).get("seq").asLong();
        assertThat(http.post(path + "/ack", "{\"upTo\":" + upTo + "}").json().get("acked").asLong()).isEqualTo(upTo);
        assertProblem(http.post(path + "/ack", "{\"upTo\":" + (again.get(2).get("seq").asLong() + 100) + "}"), 409, null);
        assertThat(http.get(path).json().get("received").asLong()).isEqualTo(2);
        // without leaseId the ack is cumulative on the cursor: 3, held by the other lease, too
        assertThat(http.post(path + "/ack", "{\"upTo\":" + again.get(2).get("seq").asLong() + "}").status()).isEqualTo(200);
        assertThat(http.get(path + "/messages?wait=1&ack=manual").json().get("messages").size()).isZero();
        assertThat(http.get(path).json().get("received").asLong()).isEqualTo(4);
        assertProblem(http.get(path + "/messages?ack=sometimes"), 400, "ack");
    }

    @Test
    void anAckWithReleaseGivesBackWhatStaysLeasedAtOnce() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        for (int i = 1; i <= 5; i++) send(path, Integer.toString(i));
        List<JsonNode> taken = new java.util.ArrayList<>();
        for (int tries = 0; taken.size() < 5 && tries < 20; tries++) {
            taken.addAll(list(http.get(path + "/messages?wait=5&max=5&ack=manual&lease=600").json().get("messages")));
        }
        assertThat(ints(taken)).containsExactly(1, 2, 3, 4, 5);
        // the receiver consumed two and stops: 3, 4, 5 go to the next receiver now, not in ten minutes
        long two = taken.get(1).get("seq").asLong();
        assertThat(http.post(path + "/ack?release=true", "{\"upTo\":" + two + "}").json().get("acked").asLong()).isEqualTo(two);
        List<JsonNode> again = list(http.get(path + "/messages?wait=1&max=2&ack=manual&lease=600").json().get("messages"));
        assertThat(ints(again)).containsExactly(3, 4);
        // a receive that acknowledges what came before (upTo) and takes what follows, in one request
        var next = http.get(path + "/messages?wait=1&max=10&ack=manual&upTo=" + again.get(1).get("seq").asLong());
        assertThat(ints(list(next.json().get("messages")))).containsExactly(5);
        assertThat(http.get(path).json().get("received").asLong()).isEqualTo(4);
        assertProblem(http.get(path + "/messages?upTo=1"), 400, "upTo");
        // past what was handed out (as after a restart of the service): what was handed out is acknowledged, no 409
        var beyond = http.get(path + "/messages?wait=0&ack=manual&upTo=" + (again.get(1).get("seq").asLong() + 1000));
        assertThat(beyond.status()).isEqualTo(200);
        assertThat(http.get(path).json().get("received").asLong()).isEqualTo(5);
    }

    @Test
    void anNdjsonStreamResumesAfterTheLastAcknowledgedSeq() throws Exception {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        for (int i = 1; i <= 5; i++) send(path, Integer.toString(i));
        List<JsonNode> lines = streamLines(path + "/messages", "application/x-ndjson", Map.of(), 3);
        assertThat(lines).extracting(l -> l.get("value").asInt()).containsExactly(1, 2, 3);
        long seq2 = lines.get(1).get("seq").asLong();
        // the stream broke after 3 lines; the client had processed 2: it resumes after 2's seq
        List<JsonNode> resumed = streamLines(path + "/messages?after=" + seq2, "application/x-ndjson", Map.of(), 3);
        assertThat(resumed).extracting(l -> l.get("value").asInt()).containsExactly(3, 4, 5);
        // closing ends the stream after what is left
        http.delete(path);
        List<JsonNode> rest = streamLines(path + "/messages?after=" + resumed.get(2).get("seq").asLong(), "application/x-ndjson", Map.of(), 1);
        assertThat(rest.get(0).get("closed").asBoolean()).isTrue();
    }

    @Test
    void anSseStreamResumesFromLastEventId() throws Exception {
        String path = create("{\"type\":\"Str\"}").get("uri").asString();
        for (String s : List.of("a", "b", "c")) send(path, "\"" + s + "\"");
        List<String[]> events = sseEvents(path + "/messages", Map.of(), 2);
        assertThat(events).extracting(e -> e[1]).containsExactly("\"a\"", "\"b\"");
        String lastId = events.get(0)[0]; // only "a" was processed
        List<String[]> resumed = sseEvents(path + "/messages", Map.of("Last-Event-ID", lastId), 2);
        assertThat(resumed).extracting(e -> e[1]).containsExactly("\"b\"", "\"c\"");
        assertThat(Long.parseLong(resumed.get(0)[0])).isGreaterThan(Long.parseLong(lastId));
        // a long-poll receiver of the same cursor after the client acknowledged everything: nothing is left
        http.post(path + "/ack", "{\"upTo\":" + resumed.get(1)[0] + "}");
        assertThat(http.get(path + "/messages?wait=1").json().get("messages").size()).isZero();
    }

    @Test
    void recordsWrittenByAPlainKafkaProducerIntoANamedChannelAreReceived() throws Exception {
        String name = "plain-" + UUID.randomUUID().toString().substring(0, 8);
        JsonNode ch = create("{\"name\":\"" + name + "\",\"type\":\"Obj\"}");
        String path = ch.get("uri").asString();
        send(path, "{\"from\":\"http\"}");
        Properties p = new Properties();
        p.put("bootstrap.servers", SharedEngines.kafka().bootstrapServers());
        try (var producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>("m31.ch." + name, null, "{\"from\":\"kafka\",\"n\":1}")).get();
            producer.send(new ProducerRecord<>("m31.ch." + name, "any-key", "not json")).get();
            producer.send(new ProducerRecord<>("m31.ch." + name, "any-key", "42")).get(); // not an Obj
            producer.send(new ProducerRecord<>("m31.ch." + name, "any-key", "{\"from\":\"kafka\",\"n\":2}")).get();
        }
        send(path, "{\"from\":\"http\",\"n\":3}");
        List<JsonNode> got = receiveAll(path, 4, 10);
        assertThat(got).extracting(m -> m.get("value").get("from").asString()).containsExactly("http", "kafka", "kafka", "http");
        assertThat(got).extracting(m -> m.get("seq").asLong()).containsExactly(1L, 2L, 5L, 6L); // offset + 1
        assertThat(http.get(path + "/messages?wait=1").json().get("messages").size()).isZero();
        assertThat(http.get(path).json().get("sent").asLong()).isEqualTo(4);
    }

    /**
     * The known gap: Kafka took a send's record, then its database commit failed. The sender was
     * told it failed; its retry (same Idempotency-Key) must be delivered exactly once, and the
     * orphan record must neither be delivered nor collide with a later send.
     */
    @Test
    void aSendWhoseCommitFailedAfterKafkaTookItIsNeverDelivered() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        String id = path.substring(4);
        send(path, "0");
        assertThat(ints(receiveAll(path, 1, 10))).containsExactly(0);
        jdbc.execute("create or replace function channel.fail_commit() returns trigger language plpgsql as $$ begin "
                + "if (new.key like 'fail-%' or (new.key like '~%' and new.channel = '" + id + "')) and new.seq > 0 then raise exception 'the database fails after Kafka took the record'; end if; "
                + "return new; end $$");
        jdbc.execute("create trigger fail_commit before update on channel.sends for each row execute function channel.fail_commit()");
        try {
            var r = http.sendIdempotent("POST", path + "/messages", "1", "fail-1");
            assertThat(r.status()).as(r.body()).isGreaterThanOrEqualTo(500);
            var unkeyed = http.post(path + "/messages", "99");
            assertThat(unkeyed.status()).isGreaterThanOrEqualTo(500);
        } finally {
            jdbc.execute("drop trigger fail_commit on channel.sends");
        }
        // Kafka has the orphan records; the database has neither
        assertThat(http.get(path).json().get("sent").asLong()).isEqualTo(1);
        var retry = http.sendIdempotent("POST", path + "/messages", "1", "fail-1");
        assertThat(retry.status()).isEqualTo(202);
        assertThat(retry.json().get("duplicate").asBoolean()).isFalse();
        send(path, "2");
        List<JsonNode> got = receiveAll(path, 2, 10);
        assertThat(ints(got)).containsExactly(1, 2);
        assertThat(got.get(0).get("seq").asLong()).isEqualTo(retry.json().get("seq").asLong());
        assertThat(http.get(path + "/messages?wait=2").json().get("messages").size()).isZero();
    }

    // ---- helpers -------------------------------------------------------------------------

    static List<JsonNode> list(JsonNode array) {
        List<JsonNode> out = new ArrayList<>();
        array.forEach(out::add);
        return out;
    }

    /** Reads {@code n} non-blank lines of an NDJSON stream, then drops the connection. */
    private List<JsonNode> streamLines(String path, String accept, Map<String, String> headers, int n) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http.base() + path)).header("Accept", accept);
        headers.forEach(b::header);
        HttpResponse<java.io.InputStream> resp = CLIENT.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream()).get(30, TimeUnit.SECONDS);
        assertThat(resp.statusCode()).isEqualTo(200);
        assertThat(resp.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith(accept));
        List<JsonNode> out = new ArrayList<>();
        try (var in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            for (String line; out.size() < n && (line = in.readLine()) != null; ) {
                if (!line.isBlank()) out.add(JSON.readTree(line));
            }
        }
        sleep(300); // the service notices the dropped connection at its next write and gives the lease back
        return out;
    }

    /** Reads {@code n} SSE message events as [id, data], then drops the connection. */
    private List<String[]> sseEvents(String path, Map<String, String> headers, int n) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http.base() + path)).header("Accept", "text/event-stream");
        headers.forEach(b::header);
        HttpResponse<java.io.InputStream> resp = CLIENT.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream()).get(30, TimeUnit.SECONDS);
        assertThat(resp.statusCode()).isEqualTo(200);
        List<String[]> out = new ArrayList<>();
        try (var in = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
            String id = null;
            for (String line; out.size() < n && (line = in.readLine()) != null; ) {
                if (line.startsWith("id: ")) id = line.substring(4);
                else if (line.startsWith("data: ")) out.add(new String[] {id, line.substring(6)});
            }
        }
        sleep(300);
        return out;
    }
}
