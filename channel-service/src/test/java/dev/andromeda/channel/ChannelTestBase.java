package dev.andromeda.channel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.channel.access.Caps;
import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** One channel service on the shared engines, for every test class that extends this (one Spring context). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=channel-service", "spring.application.name=channel-service"})
abstract class ChannelTestBase {

    static final JsonMapper JSON = JsonMapper.builder().build();

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        SharedEngines.springProperties(true).forEach((k, v) -> r.add(k, () -> v));
    }

    @LocalServerPort int port;
    TestHttp http;

    @BeforeEach
    void setUp() {
        http = new TestHttp(port);
    }

    JsonNode create(String spec) {
        var r = http.post("/ch", spec);
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json();
    }

    void send(String path, String json) {
        var r = http.post(path + "/messages", json);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
    }

    TestHttp.Response withCap(String method, String path, String body, String cap) {
        return http.request(method, path, body, body == null ? null : "application/json", cap == null ? Map.of() : Map.of(Caps.HEADER, cap));
    }

    /** Receives until {@code n} messages came (each batch at most {@code max}); fails after 30 s. */
    List<JsonNode> receiveAll(String path, int n, int max) {
        List<JsonNode> got = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            var r = http.get(path + "/messages?wait=5&max=" + max);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().get("messages").size()).isLessThanOrEqualTo(max);
            r.json().get("messages").forEach(got::add);
        }
        assertThat(got).hasSize(n);
        return got;
    }

    /** What a series of receives brought, and the last answer (its flags: closed, lease). */
    record Taken(List<JsonNode> messages, JsonNode last) {}

    /**
     * Receives with {@code query} until {@code n} messages came, asking each time only for what is
     * still missing: a long poll answers as soon as anything is there (as a Kafka fetch does), so
     * messages sent a moment before may come over two answers.
     */
    Taken take(String path, String query, int n) {
        List<JsonNode> got = new ArrayList<>();
        JsonNode last = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (got.size() < n && System.nanoTime() < deadline) {
            var r = http.get(path + "/messages?" + query + "&max=" + (n - got.size()));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            last = r.json();
            last.get("messages").forEach(got::add);
        }
        assertThat(got).hasSize(n);
        return new Taken(got, last);
    }

    static List<String> values(List<JsonNode> messages) {
        return messages.stream().map(m -> m.get("value").asString()).toList();
    }

    static List<Integer> ints(List<JsonNode> messages) {
        return messages.stream().map(m -> m.get("value").asInt()).toList();
    }

    static void assertProblem(TestHttp.Response r, int status, String field) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/problem+json");
        if (field != null) assertThat(r.json().get("field").asString()).isEqualTo(field);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
