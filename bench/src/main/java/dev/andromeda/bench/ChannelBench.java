package dev.andromeda.bench;

import dev.andromeda.channel.ChannelServiceApplication;
import dev.andromeda.common.boot.M31Service;
import dev.andromeda.engines.EmbeddedKafkaEngine;
import dev.andromeda.engines.EmbeddedPostgresEngine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Channels beside raw Kafka on the same broker, same run: {@code bench/run channel [N]}.
 * <ul>
 *   <li>async throughput of ~100-byte messages: HTTP NDJSON batches (1,000 a request, two senders) sent and
 *       long-poll received (auto-ack) beside a kafka-clients producer → consumer (acks=all,
 *       idempotent, linger 5 ms), N messages each, from the first send to the last receive;</li>
 *   <li>sync round trip over HTTP (a send answered once a waiting receiver took it), p50/p99,
 *       beside a raw single-record produce → consume round trip (linger 0).</li>
 * </ul>
 * The channel service runs alone on embedded PostgreSQL and Kafka (the nucleus path needs the
 * nucleus to batch; see the report). Prints a table and writes bench/results/channel.json.
 */
public final class ChannelBench {

    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int roundTrips = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        EmbeddedPostgresEngine pg = EmbeddedPostgresEngine.startEphemeral();
        EmbeddedKafkaEngine kafka = EmbeddedKafkaEngine.startEphemeral();
        ConfigurableApplicationContext app = null;
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            String[] a = {
                    "--spring.datasource.url=" + pg.jdbcUrl(), "--spring.datasource.username=" + pg.user(),
                    "--spring.datasource.password=" + pg.password(), "--m31.kafka.bootstrap=" + kafka.bootstrapServers(),
                    "--server.port=0", "--spring.main.banner-mode=off", "--logging.level.root=WARN",
                    // the gateway is on this classpath too (bench depends on local/): not this application's
                    "--spring.cloud.gateway.server.webflux.enabled=false"};
            app = M31Service.builder(ChannelServiceApplication.class, ChannelServiceApplication.NAME, WebApplicationType.SERVLET, Map.of()).run(a);
            String base = "http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port");
            byte[] payload = payload();

            // warm both paths up, then measure
            rawThroughput(kafka.bootstrapServers(), "bench.warm", 20_000, payload);
            httpThroughput(base, 20_000, payload);
            double raw = rawThroughput(kafka.bootstrapServers(), "bench.raw", n, payload);
            double viaHttp = httpThroughput(base, n, payload);
            double[] rawRt = rawRoundTrip(kafka.bootstrapServers(), roundTrips, payload);
            double[] syncRt = syncRoundTrip(base, roundTrips, payload);

            System.out.println();
            System.out.printf("%-52s %14s%n", "channels, " + n + " messages of " + payload.length + " bytes", "msg/s");
            System.out.printf("%-52s %14.0f%n", "raw kafka-clients producer -> consumer (baseline)", raw);
            System.out.printf("%-52s %14.0f%n", "HTTP NDJSON batches of 1000, 2 senders -> long-poll", viaHttp);
            System.out.printf("%-52s %14.2f   (target >= 0.5)%n", "  ratio to raw Kafka", viaHttp / raw);
            System.out.printf("%-52s %14s%n", "nucleus (fibril chan) path", "not measured");
            System.out.println();
            System.out.printf("%-52s %9s %9s%n", "round trip, " + roundTrips + " messages", "p50 ms", "p99 ms");
            System.out.printf("%-52s %9.2f %9.2f%n", "raw single record produce -> consume (baseline)", rawRt[0], rawRt[1]);
            System.out.printf("%-52s %9.2f %9.2f%n", "sync send over HTTP, answered when taken", syncRt[0], syncRt[1]);

            out.put("benchmark", "channel");
            out.put("when", Instant.now().toString());
            out.put("messages", n);
            out.put("messageBytes", payload.length);
            out.put("rawKafkaMsgPerSec", raw);
            out.put("httpBatchMsgPerSec", viaHttp);
            out.put("httpToRawRatio", viaHttp / raw);
            out.put("nucleusMsgPerSec", null);
            out.put("nucleusNote", "not measured: the nucleus sends one message per HTTP request and does not batch yet");
            out.put("roundTrips", roundTrips);
            out.put("rawRoundTripP50Ms", rawRt[0]);
            out.put("rawRoundTripP99Ms", rawRt[1]);
            out.put("syncHttpRoundTripP50Ms", syncRt[0]);
            out.put("syncHttpRoundTripP99Ms", syncRt[1]);
            Path results = Path.of("bench/results");
            Files.createDirectories(results);
            Files.writeString(results.resolve("channel.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out));
        } finally {
            if (app != null) app.close();
            kafka.close();
            pg.close();
        }
        System.exit(0);
    }

    /** ~100 bytes of JSON. */
    static byte[] payload() {
        return "{\"k\":\"abcdefghijklmnopqrstuvwxyz\",\"n\":12345,\"text\":\"the quick brown fox jumps over the lazy dog!!\"}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static double rawThroughput(String bootstrap, String topic, int n, byte[] payload) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("linger.ms", "5");
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("fetch.max.wait.ms", "100");
        c.put("max.poll.records", "5000");
        TopicPartition tp = new TopicPartition(topic, 0);
        try (var producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
             var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            consumer.poll(Duration.ofMillis(100));
            long t0 = System.nanoTime();
            CompletableFuture<Void> send = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < n; i++) producer.send(new ProducerRecord<>(topic, 0, null, payload));
                producer.flush();
            });
            long got = 0;
            while (got < n) got += consumer.poll(Duration.ofMillis(200)).count();
            send.join();
            return n / ((System.nanoTime() - t0) / 1e9);
        }
    }

    static double httpThroughput(String base, int n, byte[] payload) throws Exception {
        JsonNode ch = JSON.readTree(post(base + "/ch", "{\"type\":\"Obj\"}", "application/json").body());
        String path = base + ch.get("uri").asString();
        String line = new String(payload, java.nio.charset.StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder();
        int batch = 1000;
        for (int i = 0; i < batch; i++) sb.append(line).append('\n');
        String body = sb.toString();
        long t0 = System.nanoTime();
        // two senders (clients of one channel), so that one request's parsing overlaps the other's produce
        AtomicLong next = new AtomicLong();
        Runnable sender = () -> {
            while (next.getAndAdd(batch) < n) {
                HttpResponse<String> r = post(path + "/messages", body, "application/x-ndjson");
                if (r.statusCode() != 202) throw new IllegalStateException("send: " + r.statusCode() + " " + r.body());
            }
        };
        CompletableFuture<Void> send = CompletableFuture.allOf(CompletableFuture.runAsync(sender), CompletableFuture.runAsync(sender));
        long got = 0;
        while (got < n) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(path + "/messages?wait=5&max=10000")).build(),
                    HttpResponse.BodyHandlers.ofString());
            got += JSON.readTree(r.body()).get("messages").size();
        }
        send.join();
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    static double[] rawRoundTrip(String bootstrap, int n, byte[] payload) throws Exception {
        String topic = "bench.rt";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("linger.ms", "0");
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("fetch.max.wait.ms", "500");
        c.put("fetch.min.bytes", "1");
        TopicPartition tp = new TopicPartition(topic, 0);
        double[] ms = new double[n];
        try (var producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
             var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToEnd(List.of(tp));
            consumer.position(tp);
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                producer.send(new ProducerRecord<>(topic, 0, null, payload));
                int got = 0;
                while (got == 0) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) got++;
                }
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        return percentiles(ms);
    }

    /** A receiver waits (long-poll, max 1) while the sender's sync send waits for it to take the message. */
    static double[] syncRoundTrip(String base, int n, byte[] payload) throws Exception {
        JsonNode ch = JSON.readTree(post(base + "/ch", "{\"type\":\"Obj\",\"mode\":\"sync\"}", "application/json").body());
        String path = base + ch.get("uri").asString();
        String body = new String(payload, java.nio.charset.StandardCharsets.UTF_8);
        AtomicLong received = new AtomicLong();
        CompletableFuture<Void> receiver = CompletableFuture.runAsync(() -> {
            try {
                while (received.get() < n) {
                    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(path + "/messages?wait=10&max=1")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    received.addAndGet(JSON.readTree(r.body()).get("messages").size());
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = post(path + "/messages?wait=30", body, "application/json");
            if (r.statusCode() != 202) throw new IllegalStateException("sync send: " + r.statusCode() + " " + r.body());
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        receiver.join();
        return percentiles(ms);
    }

    static double[] percentiles(double[] ms) {
        double[] s = ms.clone();
        Arrays.sort(s);
        return new double[] {s[s.length / 2], s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)]};
    }

    static HttpResponse<String> post(String url, String body, String type) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", type)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(url, e);
        }
    }
}
