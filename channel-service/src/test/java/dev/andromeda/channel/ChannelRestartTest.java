package dev.andromeda.channel;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.boot.M31Service;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * The channel service is stopped and started again on the same database and broker: what was
 * not yet received is received once, what was received is not received again.
 */
class ChannelRestartTest {

    private static ConfigurableApplicationContext start() {
        // as arguments: the builder's properties are defaults, below the config file's own values
        Map<String, Object> props = new HashMap<>(SharedEngines.springProperties(true));
        props.put("server.port", "0");
        String[] args = props.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        return M31Service.builder(ChannelServiceApplication.class, ChannelServiceApplication.NAME, WebApplicationType.SERVLET, Map.of()).run(args);
    }

    private static TestHttp http(ConfigurableApplicationContext ctx) {
        return new TestHttp(Integer.parseInt(ctx.getEnvironment().getProperty("local.server.port")));
    }

    @Test
    void messagesSurviveARestartOfTheService() {
        Map<Integer, String> byPartition = new HashMap<>();
        String early = null, x;
        String named;
        ConfigurableApplicationContext first = start();
        try {
            TestHttp http = http(first);
            // x shares its partition with a channel whose pending message lies before all of x's:
            // after the restart that partition is re-read from there, over x's delivered records
            while (true) {
                JsonNode c = http.post("/ch", "{\"type\":\"Int\"}").json();
                String prev = byPartition.putIfAbsent(c.get("partition").asInt(), c.get("uri").asString());
                if (prev != null) { early = prev; x = c.get("uri").asString(); break; }
            }
            var made = http.post("/ch", "{\"name\":\"restart-" + System.nanoTime() + "\"}");
            assertThat(made.status()).as(made.body()).isEqualTo(201);
            named = made.json().get("uri").asString();
            assertThat(http.post(early + "/messages", "100").status()).isEqualTo(202);
            for (int i = 1; i <= 10; i++) {
                assertThat(http.post(x + "/messages", Integer.toString(i)).status()).isEqualTo(202);
                assertThat(http.post(named + "/messages", Integer.toString(i)).status()).isEqualTo(202);
            }
            assertThat(take(http, x, 4, 4)).containsExactly(1, 2, 3, 4);
            assertThat(take(http, named, 4, 4)).containsExactly(1, 2, 3, 4);
            // x's 5..10 and named's 5..10 now sit in this instance's memory, undelivered
        } finally {
            first.close();
        }

        ConfigurableApplicationContext second = start();
        try {
            TestHttp http = http(second);
            assertThat(take(http, x, 6, 100)).containsExactly(5, 6, 7, 8, 9, 10);
            assertThat(take(http, named, 6, 100)).containsExactly(5, 6, 7, 8, 9, 10);
            assertThat(take(http, early, 1, 100)).containsExactly(100);
            for (String ch : List.of(x, named, early)) {
                assertThat(http.get(ch + "/messages?wait=1").json().get("messages").size()).as(ch).isZero();
            }
            JsonNode info = http.get(x).json();
            assertThat(info.get("sent").asLong()).isEqualTo(10);
            assertThat(info.get("received").asLong()).isEqualTo(10);
            // and the channel goes on where it was
            assertThat(http.post(x + "/messages", "11").status()).isEqualTo(202);
            assertThat(take(http, x, 1, 100)).containsExactly(11);
        } finally {
            second.close();
        }
    }

    @Test
    void whatWasAcknowledgedOutOfOrderStaysAcknowledgedAcrossARestart() {
        String ch;
        long firstOfA;
        ConfigurableApplicationContext first = start();
        try {
            TestHttp http = http(first);
            ch = http.post("/ch", "{\"type\":\"Int\"}").json().get("uri").asString();
            for (int i = 1; i <= 6; i++) assertThat(http.post(ch + "/messages", Integer.toString(i)).status()).isEqualTo(202);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (http.get(ch).json().get("endpoints").get(1).path("backlog").asLong() < 6 && System.nanoTime() < deadline) sleep(50);
            // two receivers share the cursor: A holds 1..3, B holds 4..6 and acknowledges its lease
            JsonNode a = http.get(ch + "/messages?wait=5&max=3&ack=manual&lease=600").json();
            JsonNode b = http.get(ch + "/messages?wait=5&max=3&ack=manual&lease=600").json();
            assertThat(b.get("messages").get(0).get("value").asInt()).isEqualTo(4);
            firstOfA = a.get("messages").get(0).get("seq").asLong();
            long lastOfB = b.get("messages").get(2).get("seq").asLong();
            var acked = http.post(ch + "/ack?leaseId=" + b.get("leaseId").asLong(), "{\"upTo\":" + lastOfB + "}");
            assertThat(acked.status()).as(acked.body()).isEqualTo(200);
            // the floor stays below A's messages: 4..6 are acknowledged above it
            assertThat(acked.json().get("acked").asLong()).isLessThan(firstOfA);
        } finally {
            first.close();
        }

        // A's lease dies with the service; B's acknowledgement does not
        ConfigurableApplicationContext second = start();
        try {
            TestHttp http = http(second);
            assertThat(take(http, ch, 3, 100)).containsExactly(1, 2, 3);
            assertThat(http.get(ch + "/messages?wait=1").json().get("messages").size()).isZero();
            JsonNode info = http.get(ch).json();
            assertThat(info.get("received").asLong()).isEqualTo(6);
            assertThat(info.get("endpoints").get(1).get("backlog").asLong()).isZero();
            assertThat(http.post(ch + "/messages", "7").status()).isEqualTo(202);
            assertThat(take(http, ch, 1, 100)).containsExactly(7);
        } finally {
            second.close();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Receives exactly {@code n} values (batches of at most {@code max}); fails after 30 s. */
    private static List<Integer> take(TestHttp http, String ch, int n, int max) {
        List<Integer> got = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            var r = http.get(ch + "/messages?wait=5&max=" + Math.min(max, n - got.size()));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            r.json().get("messages").forEach(m -> got.add(m.get("value").asInt()));
        }
        return got;
    }
}
