package dev.andromeda.channel;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.channel.kafka.KafkaPlumbing;
import dev.andromeda.common.id.Ids;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ChannelServiceTest extends ChannelTestBase {

    @Test
    void aThousandMessagesComeOutInOrder() {
        JsonNode ch = create("{}");
        assertThat(ch.get("uri").asString()).isEqualTo("/ch/" + ch.get("id").asString());
        assertThat(ch.get("topic").asString()).isEqualTo("m31.channels");
        assertThat(ch.get("type").asString()).isEqualTo("Any");
        assertThat(ch.get("mode").asString()).isEqualTo("async");
        assertThat(ch.get("closed").asBoolean()).isFalse();
        assertThat(ch.get("sent").asLong()).isZero();
        assertThat(ch.get("received").asLong()).isZero();
        assertThat(ch.get("created").asString()).isNotBlank();
        String path = ch.get("uri").asString();
        List<Long> seqs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            var r = http.post(path + "/messages", i % 2 == 0 ? Integer.toString(i) : "{\"n\":" + i + "}");
            assertThat(r.status()).as(r.body()).isEqualTo(202);
            seqs.add(r.json().get("seq").asLong());
            assertThat(r.json().get("duplicate").asBoolean()).isFalse();
        }
        assertThat(seqs).isSorted().doesNotHaveDuplicates();
        List<JsonNode> got = receiveAll(path, 1000, 300);
        for (int i = 0; i < 1000; i++) {
            assertThat(got.get(i).get("seq").asLong()).isEqualTo(seqs.get(i));
            JsonNode v = got.get(i).get("value");
            assertThat(i % 2 == 0 ? v.asInt() : v.get("n").asInt()).isEqualTo(i);
        }
        assertThat(http.get(path + "/messages?wait=0").json().get("messages").size()).isZero();
        JsonNode after = http.get(path).json();
        assertThat(after.get("sent").asLong()).isEqualTo(1000);
        assertThat(after.get("received").asLong()).isEqualTo(1000);
    }

    @org.springframework.beans.factory.annotation.Autowired KafkaPlumbing kafka;

    /**
     * A batch's records reach Kafka together: one produce request (a metadata refresh may add one
     * more), not a request for whatever the producer's sender thread found appended each time it
     * woke — which is how a batch of 2,000 went out with linger.ms 0.
     */
    @Test
    void aBatchGoesToKafkaInOneProduceRequest() {
        String path = create("{}").get("uri").asString();
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 2000; i++) body.append("{\"n\":").append(i).append(",\"pad\":\"abcdefghijklmnopqrstuvwxyz\"}\n");
        // the partition's leader known first: a fresh producer's metadata request counts as a request too
        send(path, "{\"n\":-1}");
        double before = producerRequests();
        var r = http.request("POST", path + "/messages", body.toString(), "application/x-ndjson", Map.of());
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        assertThat(producerRequests() - before).isBetween(1.0, 2.0);
        List<JsonNode> got = receiveAll(path, 2001, 5000);
        for (int i = 0; i < 2001; i++) assertThat(got.get(i).get("value").get("n").asInt()).isEqualTo(i - 1);
    }

    private double producerRequests() {
        return kafka.producer().metrics().entrySet().stream()
                .filter(e -> e.getKey().group().equals("producer-metrics") && e.getKey().name().equals("request-total"))
                .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue()).findFirst().orElseThrow();
    }

    @Test
    void channelsSharingAPartitionDoNotSeeEachOthersMessages() {
        // find two unnamed channels that the shared topic puts in one partition
        Map<Integer, JsonNode> byPartition = new HashMap<>();
        JsonNode a = null, b = null;
        for (int i = 0; i < 40 && a == null; i++) {
            JsonNode c = create("{}");
            JsonNode other = byPartition.putIfAbsent(c.get("partition").asInt(), c);
            if (other != null) { a = other; b = c; }
        }
        assertThat(a).isNotNull();
        String pa = a.get("uri").asString(), pb = b.get("uri").asString();
        for (int i = 1; i <= 3; i++) {
            send(pa, "\"a" + i + "\"");
            send(pb, "\"b" + i + "\"");
        }
        assertThat(values(receiveAll(pa, 3, 100))).containsExactly("a1", "a2", "a3");
        assertThat(values(receiveAll(pb, 3, 100))).containsExactly("b1", "b2", "b3");
        assertThat(http.get(pa + "/messages?wait=1").json().get("messages").size()).isZero();
    }

    @Test
    void aWaitingReceiverWakesWhenAMessageArrives() throws Exception {
        String path = create("{\"type\":\"Str\"}").get("uri").asString();
        long t0 = System.nanoTime();
        CompletableFuture<TestHttp.Response> waiting = CompletableFuture.supplyAsync(() -> http.get(path + "/messages?wait=10"));
        Thread.sleep(300);
        assertThat(waiting).isNotDone();
        send(path, "\"hello\"");
        TestHttp.Response r = waiting.get(15, TimeUnit.SECONDS);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("messages").get(0).get("value").asString()).isEqualTo("hello");
        assertThat(ms).isGreaterThanOrEqualTo(300).isLessThan(8000);
        // and a receive with nothing to take waits, then answers empty
        t0 = System.nanoTime();
        r = http.get(path + "/messages?wait=1");
        assertThat(r.json().get("messages").size()).isZero();
        assertThat(r.json().get("closed").asBoolean()).isFalse();
        assertThat((System.nanoTime() - t0) / 1_000_000).isGreaterThanOrEqualTo(900);
    }

    @Test
    void aRetriedSendWithTheSameKeyIsNotDeliveredTwiceAndAKeyNamesOneSend() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        var r = http.sendIdempotent("POST", path + "/messages", "7", "key-1");
        assertThat(r.status()).isEqualTo(202);
        long first = r.json().get("seq").asLong();
        assertThat(r.json().get("duplicate").asBoolean()).isFalse();
        r = http.sendIdempotent("POST", path + "/messages", "7", "key-1");
        assertThat(r.status()).isEqualTo(202);
        assertThat(r.json().get("seq").asLong()).isEqualTo(first);
        assertThat(r.json().get("duplicate").asBoolean()).isTrue();
        r = http.sendIdempotent("POST", path + "/messages", "8", "key-2");
        assertThat(r.json().get("seq").asLong()).isGreaterThan(first);
        // a key names one send: the same key with another message is the client's mistake, a 422,
        // not a "duplicate" that silently drops the new message
        r = http.sendIdempotent("POST", path + "/messages", "9", "key-1");
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.json().get("field").asString()).isEqualTo("Idempotency-Key");
        // so for a batch (its lines and their order are what the key names)
        var batch = Map.of("Idempotency-Key", "batch-1");
        assertThat(http.request("POST", path + "/messages", "1\n2\n", "application/x-ndjson", batch).json().get("duplicate").asBoolean()).isFalse();
        assertThat(http.request("POST", path + "/messages", "1\n2\n", "application/x-ndjson", batch).json().get("duplicate").asBoolean()).isTrue();
        assertThat(http.request("POST", path + "/messages", "2\n1\n", "application/x-ndjson", batch).status()).isEqualTo(422);
        List<JsonNode> got = receiveAll(path, 4, 100);
        assertThat(got).extracting(m -> m.get("value").asInt()).containsExactly(7, 8, 1, 2);
        assertThat(http.get(path + "/messages?wait=1").json().get("messages").size()).isZero();
        assertThat(http.get(path).json().get("sent").asLong()).isEqualTo(4);
        // and on a channel with a capacity, whose sends are decided one by one
        String capped = create("{\"type\":\"Int\",\"capacity\":10}").get("uri").asString();
        assertThat(http.sendIdempotent("POST", capped + "/messages", "5", "c-1").status()).isEqualTo(202);
        assertThat(http.sendIdempotent("POST", capped + "/messages", "5", "c-1").json().get("duplicate").asBoolean()).isTrue();
        assertThat(http.sendIdempotent("POST", capped + "/messages", "6", "c-1").status()).isEqualTo(422);
        assertThat(http.get(capped).json().get("sent").asLong()).isEqualTo(1);
    }

    /**
     * Senders of one channel at once: their sends are written in groups (one transaction and one
     * Kafka round trip each), yet every send keeps its own contiguous seqs, its order and its key.
     */
    @Test
    void concurrentSendersAreWrittenTogetherEachInOrderAndOnce() throws Exception {
        String path = create("{}").get("uri").asString();
        double joinedBefore = joined();
        int senders = 6, sends = 30, per = 20;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(senders + 2);
        try {
            List<CompletableFuture<List<long[]>>> ranges = new ArrayList<>();
            for (int s = 0; s < senders; s++) {
                int sender = s;
                ranges.add(CompletableFuture.supplyAsync(() -> {
                    List<long[]> mine = new ArrayList<>();
                    for (int k = 0; k < sends; k++) {
                        StringBuilder nd = new StringBuilder();
                        for (int i = 0; i < per; i++) nd.append("{\"s\":").append(sender).append(",\"i\":").append(k * per + i).append("}\n");
                        var r = http.request("POST", path + "/messages", nd.toString(), "application/x-ndjson", Map.of());
                        assertThat(r.status()).as(r.body()).isEqualTo(202);
                        mine.add(new long[] {r.json().get("seq").asLong(), r.json().get("last").asLong()});
                    }
                    return mine;
                }, pool));
            }
            // two clients send with one Idempotency-Key at the same moment: one send, one duplicate
            var same = List.of(
                    CompletableFuture.supplyAsync(() -> http.sendIdempotent("POST", path + "/messages", "{\"s\":99,\"i\":0}", "twin"), pool),
                    CompletableFuture.supplyAsync(() -> http.sendIdempotent("POST", path + "/messages", "{\"s\":99,\"i\":0}", "twin"), pool));
            List<long[]> all = new ArrayList<>();
            for (var f : ranges) {
                List<long[]> mine = f.get(60, TimeUnit.SECONDS);
                for (int k = 1; k < mine.size(); k++) assertThat(mine.get(k)[0]).isGreaterThan(mine.get(k - 1)[1]);
                for (long[] r : mine) assertThat(r[1] - r[0]).isGreaterThanOrEqualTo(per - 1);
                all.addAll(mine);
            }
            var a = same.get(0).get(30, TimeUnit.SECONDS).json();
            var b = same.get(1).get(30, TimeUnit.SECONDS).json();
            assertThat(a.get("seq").asLong()).isEqualTo(b.get("seq").asLong());
            assertThat(List.of(a.get("duplicate").asBoolean(), b.get("duplicate").asBoolean())).containsExactlyInAnyOrder(true, false);
            // no two sends' seqs overlap
            all.sort(java.util.Comparator.comparingLong(r -> r[0]));
            for (int k = 1; k < all.size(); k++) assertThat(all.get(k)[0]).isGreaterThan(all.get(k - 1)[1]);
            int total = senders * sends * per + 1;
            List<JsonNode> got = receiveAll(path, total, 1000);
            Map<Integer, Integer> next = new HashMap<>();
            for (JsonNode m : got) {
                int s = m.get("value").get("s").asInt(), i = m.get("value").get("i").asInt();
                assertThat(i).as("sender " + s).isEqualTo(next.getOrDefault(s, 0));
                next.put(s, i + 1);
            }
            assertThat(http.get(path + "/messages?wait=1").json().get("messages").size()).isZero();
            assertThat(http.get(path).json().get("sent").asLong()).isEqualTo(total);
            // and they did go together
            assertThat(joined()).isGreaterThan(joinedBefore);
        } finally {
            pool.shutdownNow();
        }
    }

    @org.springframework.beans.factory.annotation.Autowired io.micrometer.core.instrument.MeterRegistry meters;

    private double joined() {
        var c = meters.find("m31.channel.send.joined").functionCounter();
        return c == null ? 0 : c.count();
    }

    @Test
    void messagesAreCheckedAgainstTheChannelType() {
        String path = create("{\"type\":\"Int\"}").get("uri").asString();
        var r = http.post(path + "/messages", "\"x\"");
        assertThat(r.status()).isEqualTo(422);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.json().get("field").asString()).isEqualTo("$");
        assertThat(http.post(path + "/messages", "1.5").status()).isEqualTo(422);
        assertThat(http.post(path + "/messages", "{\"n\":1}").status()).isEqualTo(422);
        send(path, "42");
        assertThat(receiveAll(path, 1, 10)).extracting(m -> m.get("value").asInt()).containsExactly(42);
        assertThat(http.get(path).json().get("sent").asLong()).isEqualTo(1);

        String schema = "{\"type\":\"object\",\"required\":[\"a\"],\"properties\":{\"a\":{\"type\":\"integer\"}}}";
        JsonNode typed = create("{\"type\":" + schema + "}");
        assertThat(typed.get("type").get("required").get(0).asString()).isEqualTo("a");
        String tp = typed.get("uri").asString();
        r = http.post(tp + "/messages", "{\"a\":\"x\"}");
        assertThat(r.status()).isEqualTo(422);
        assertThat(r.json().get("field").asString()).contains("a");
        assertThat(http.post(tp + "/messages", "{\"b\":1}").status()).isEqualTo(422);
        assertThat(http.post(tp + "/messages", "{\"a\":1}").status()).isEqualTo(202);
        assertThat(http.get(tp).json().get("sent").asLong()).isEqualTo(1);
        // batches to two channels of different schemas in turn: each line is held to its own channel's schema
        String other = create("{\"type\":{\"type\":\"object\",\"required\":[\"b\"]}}").get("uri").asString();
        for (int i = 0; i < 2; i++) {
            assertThat(http.request("POST", tp + "/messages", "{\"a\":1}\n{\"a\":2}\n", "application/x-ndjson", Map.of()).status()).isEqualTo(202);
            var bad = http.request("POST", other + "/messages", "{\"b\":1}\n{\"a\":1}\n", "application/x-ndjson", Map.of());
            assertThat(bad.status()).isEqualTo(422);
            assertThat(bad.json().get("field").asString()).startsWith("[1]");
            assertThat(http.request("POST", tp + "/messages", "{\"a\":3}\n{\"b\":1}\n", "application/x-ndjson", Map.of()).status()).isEqualTo(422);
        }
        assertThat(http.get(tp).json().get("sent").asLong()).isEqualTo(5);
        assertThat(http.get(other).json().get("sent").asLong()).isZero();

        assertThat(http.post("/ch", "{\"type\":\"Banana\"}").json().get("field").asString()).isEqualTo("type");
        assertThat(http.post("/ch", "{\"type\":{\"$ref\":\"http://evil.example/s.json\"}}").status()).isEqualTo(400);
        // a schema that is not one by its own meta-schema is refused at the create, saying where and
        // why (it made a channel that refused every message)
        var notASchema = http.post("/ch", "{\"type\":{\"type\":\"Int\"}}");
        assertThat(notASchema.status()).isEqualTo(400);
        assertThat(notASchema.json().get("field").asString()).isEqualTo("type");
        assertThat(notASchema.json().get("detail").asString()).contains("/type").contains("in a JSON Schema it is \"integer\"");
        var nested = http.post("/ch", "{\"type\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"minLength\":-1}}}}");
        assertThat(nested.status()).isEqualTo(400);
        assertThat(nested.json().get("detail").asString()).contains("/properties/a/minLength");
        // a schema declaring another draft is taken by its own draft's rules (items as an array: draft-07)
        assertThat(http.post("/ch", "{\"type\":{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"array\",\"items\":[{\"type\":\"integer\"}]}}").status()).isEqualTo(201);
        assertThat(http.post("/ch", "{\"mode\":\"sometimes\"}").status()).isEqualTo(400);
        // a misspelt field is a 400 naming it, not an async channel made for "mod": "sync"
        var typo = http.post("/ch", "{\"type\":\"Int\",\"mod\":\"sync\"}");
        assertThat(typo.status()).isEqualTo(400);
        assertThat(typo.json().get("field").asString()).isEqualTo("mod");
        assertThat(typo.json().get("type").asString()).isEqualTo("/problems/unknown-field");
        assertThat(http.post("/ch", "{\"name\":\"Bad Name\"}").status()).isEqualTo(400);
    }

    @Test
    void aNamedChannelIsItsOwnTopicReadableByAnyKafkaClient() {
        String name = "orders-" + UUID.randomUUID().toString().substring(0, 8);
        var r = http.post("/ch", "{\"name\":\"" + name + "\",\"type\":\"Obj\",\"mode\":\"async\",\"capacity\":5}");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        JsonNode ch = r.json();
        String id = ch.get("id").asString();
        assertThat(ch.get("topic").asString()).isEqualTo("m31.ch." + name);
        assertThat(ch.get("partition").asInt()).isZero();
        assertThat(ch.get("name").asString()).isEqualTo(name);
        assertThat(ch.get("mode").asString()).isEqualTo("async");
        assertThat(ch.get("capacity").asInt()).isEqualTo(5);
        assertThat(http.post("/ch", "{\"name\":\"" + name + "\"}").status()).isEqualTo(409);

        send(ch.get("uri").asString(), "{\"item\":\"book\",\"qty\":2}");

        Properties p = new Properties();
        p.put("bootstrap.servers", SharedEngines.kafka().bootstrapServers());
        try (var consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition("m31.ch." + name, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            List<ConsumerRecord<String, String>> seen = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (seen.isEmpty() && System.nanoTime() < deadline) consumer.poll(Duration.ofMillis(200)).forEach(seen::add);
            assertThat(seen).hasSize(1);
            assertThat(seen.get(0).key()).isEqualTo(id);
            // the record is the message itself, as any Kafka tool would write it; its seq is its offset + 1
            JsonNode record = JSON.readTree(seen.get(0).value());
            assertThat(record.get("item").asString()).isEqualTo("book");
            assertThat(seen.get(0).offset()).isZero();
        }
        // and the service delivers it too, with seq = offset + 1
        JsonNode got = receiveAll(ch.get("uri").asString(), 1, 10).get(0);
        assertThat(got.get("value").get("qty").asInt()).isEqualTo(2);
        assertThat(got.get("seq").asLong()).isEqualTo(1);
    }

    @Test
    void aClosedChannelDrainsThenSaysClosed() {
        String path = create("{}").get("uri").asString();
        for (int i = 1; i <= 3; i++) send(path, Integer.toString(i));
        assertThat(http.delete(path).status()).isEqualTo(204);
        assertThat(http.post(path + "/messages", "4").status()).isEqualTo(410);
        assertThat(http.get(path).json().get("closed").asBoolean()).isTrue();

        Taken first = take(path, "wait=5", 2);
        assertThat(ints(first.messages())).containsExactly(1, 2);
        assertThat(first.last().get("closed").asBoolean()).isFalse();
        var r = http.get(path + "/messages?wait=5&max=2");
        assertThat(r.json().get("messages")).extracting(m -> m.get("value").asInt()).containsExactly(3);
        r = http.get(path + "/messages?wait=5");
        assertThat(r.json().get("messages").size()).isZero();
        assertThat(r.json().get("closed").asBoolean()).isTrue();
        // a waiting receiver is woken by the close
        String other = create("{}").get("uri").asString();
        CompletableFuture<TestHttp.Response> waiting = CompletableFuture.supplyAsync(() -> http.get(other + "/messages?wait=20"));
        sleep(300);
        long t0 = System.nanoTime();
        http.delete(other);
        assertThat(waiting.join().json().get("closed").asBoolean()).isTrue();
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
    }

    @Test
    void unknownForgedAndOversizedAreProblems() {
        String unknown = "/ch/" + Ids.newId(Ids.CHANNEL);
        assertProblem(http.get(unknown), 404, null);
        assertProblem(http.post(unknown + "/messages", "1"), 404, null);
        assertProblem(http.get(unknown + "/messages"), 404, null);
        assertProblem(http.delete(unknown), 404, null);
        String id = Ids.newId(Ids.CHANNEL);
        String forged = "/ch/" + id.substring(0, id.length() - 1) + (id.endsWith("0") ? "1" : "0");
        assertProblem(http.get(forged), 400, "id");
        assertProblem(http.post(forged + "/messages", "1"), 400, "id");
        assertProblem(http.get(forged + "/messages"), 400, "id");
        assertProblem(http.delete(forged), 400, "id");

        String path = create("{\"type\":\"Str\"}").get("uri").asString();
        assertProblem(http.get(path + "/messages?max=0"), 400, "max");
        assertProblem(http.get(path + "/messages?wait=61"), 400, "wait");
        String big = "\"" + "x".repeat(1024 * 1024 + 10) + "\"";
        assertProblem(http.post(path + "/messages", big), 413, "body");
        String large = "x".repeat(900 * 1024);
        send(path, "\"" + large + "\"");
        var got = receiveAll(path, 1, 10);
        assertThat(got.get(0).get("value").asString()).isEqualTo(large);
        assertThat(http.get(path).json().get("sent").asLong()).isEqualTo(1); // the refused one was not sent
    }

}
