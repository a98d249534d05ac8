package dev.andromeda.channel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.channel.kafka.KafkaPlumbing;
import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.EmbeddedKafkaEngine;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * One of two brokers is lost: a channel whose partition it led has no leader until it comes back,
 * and its sends wait — but only its sends. Sends to channels on the other broker are answered as
 * before; the held one goes through, once, when its broker is back. (Each send used to flush the
 * service's shared producer itself, which waits for every record appended before it: a send to a
 * healthy partition then waited for the lost one — 30 s, the delivery timeout — as its answer.)
 * The healthy channel's message is received meanwhile too.
 */
class ChannelBrokerLossTest {

    @Test
    void aPartitionWithoutALeaderHoldsUpOnlyItsOwnChannelsSends() throws Exception {
        EmbeddedKafkaEngine first = EmbeddedKafkaEngine.startEphemeral();
        EmbeddedKafkaEngine second = null;
        ConfigurableApplicationContext app = null;
        try {
            // started on one broker: the shared topic's partitions are all on the first
            app = OwnBroker.channelService(first, "loss");
            TestHttp http = new TestHttp(OwnBroker.port(app));
            String healthy = http.post("/ch", "{}").json().get("uri").asString();

            second = first.addBroker(2);
            String name = "on-second-" + System.nanoTime();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", first.bootstrapServers()))) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size() < 2) {
                    assertThat(System.nanoTime()).as("the second broker registers").isLessThan(deadline);
                    Thread.sleep(100);
                }
                // the named channel's topic, made beforehand with its one replica on the second broker
                admin.createTopics(List.of(new NewTopic(KafkaPlumbing.namedTopic(name), Map.of(0, List.of(2)))))
                        .all().get(30, TimeUnit.SECONDS);
            }
            var made = http.post("/ch", "{\"name\":\"" + name + "\"}");
            assertThat(made.status()).as(made.body()).isEqualTo(201);
            String lost = made.json().get("uri").asString();
            assertThat(http.post(lost + "/messages", "\"before\"").status()).isEqualTo(202);

            second.stop();
            CompletableFuture<TestHttp.Response> held = CompletableFuture.supplyAsync(() -> http.post(lost + "/messages", "\"held\""));
            Thread.sleep(1500);
            assertThat(held).as("a partition without a leader takes no send").isNotDone();

            long t0 = System.nanoTime();
            var free = http.post(healthy + "/messages", "\"free\"");
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(free.status()).as(free.body()).isEqualTo(202);
            assertThat(took).as("a send to a healthy partition waits for nothing else").isLessThan(Duration.ofSeconds(5));
            assertThat(held).isNotDone();
            // and it is received meanwhile: the consumer fetches the healthy partitions as before
            t0 = System.nanoTime();
            assertThat(values(http, healthy, 1)).containsExactly("free");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));

            second = second.restart();
            var answer = held.get(25, TimeUnit.SECONDS);
            assertThat(answer.status()).as(answer.body()).isEqualTo(202);
            assertThat(values(http, lost, 2)).containsExactly("before", "held");
            assertThat(http.get(lost + "/messages?wait=1").json().get("messages").size()).isZero();
        } finally {
            if (app != null) app.close();
            if (second != null) second.close();
            first.close();
        }
    }

    /** The values of the next {@code n} messages (long polls until they came, at most 30 s). */
    private static List<String> values(TestHttp http, String path, int n) {
        List<String> got = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (got.size() < n && System.nanoTime() < deadline) {
            for (JsonNode m : http.get(path + "/messages?wait=5").json().get("messages")) got.add(m.get("value").asString());
        }
        return got;
    }
}
