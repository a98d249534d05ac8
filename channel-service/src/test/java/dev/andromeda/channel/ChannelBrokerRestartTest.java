package dev.andromeda.channel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.EmbeddedKafkaEngine;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Kafka broker restarts in the middle of a stream (the channel service has a broker of its
 * own here): every message sent is received once, in order — senders retry with their
 * idempotency keys whatever failed, and the receiver reads one NDJSON stream throughout.
 */
class ChannelBrokerRestartTest {

    static final int N = 300;
    static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void nothingIsLostNothingDoublesAndTheOrderHoldsAcrossABrokerRestart() throws Exception {
        EmbeddedKafkaEngine broker = EmbeddedKafkaEngine.startEphemeral();
        ConfigurableApplicationContext app = null;
        try {
            app = OwnBroker.channelService(broker, "restart");
            TestHttp http = new TestHttp(OwnBroker.port(app));
            String path = http.post("/ch", "{\"type\":\"Int\"}").json().get("uri").asString();

            // the receiver: one NDJSON stream, acknowledging as it reads
            List<Integer> got = java.util.Collections.synchronizedList(new ArrayList<>());
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<java.io.InputStream> stream = client.send(HttpRequest.newBuilder(URI.create(http.base() + path + "/messages?ack=auto"))
                    .header("Accept", "application/x-ndjson").build(), HttpResponse.BodyHandlers.ofInputStream());
            assertThat(stream.statusCode()).isEqualTo(200);
            CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
                try (var in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                    for (String line; got.size() < N && (line = in.readLine()) != null; ) {
                        if (!line.isBlank()) got.add(JSON.readTree(line).get("value").asInt());
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });

            // the sender: each message until it is answered 202, with the same key every time
            CountDownLatch halfway = new CountDownLatch(1);
            AtomicInteger failures = new AtomicInteger();
            CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < N; i++) {
                    if (i == N / 3) halfway.countDown();
                    while (true) {
                        var r = http.sendIdempotent("POST", path + "/messages", Integer.toString(i), "restart-" + i);
                        if (r.status() == 202) break;
                        failures.incrementAndGet();
                        ChannelTestBase.sleep(200);
                    }
                }
            });
            assertThat(halfway.await(60, TimeUnit.SECONDS)).isTrue();
            broker = broker.restart();

            sender.get(180, TimeUnit.SECONDS);
            reader.get(120, TimeUnit.SECONDS);
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < N; i++) expected.add(i);
            assertThat(got).containsExactlyElementsOf(expected);
            // nothing more comes: a long-poll after the stream finds nothing left
            assertThat(http.get(path + "/messages?wait=2").json().get("messages").size()).isZero();
            JsonNode info = http.get(path).json();
            assertThat(info.get("sent").asLong()).isEqualTo(N);
            System.out.println("broker restart: " + failures.get() + " sends answered with an error and retried");
        } finally {
            if (app != null) app.close();
            broker.close();
        }
    }
}
