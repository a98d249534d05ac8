package dev.andromeda.common.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.andromeda.common.problem.M31Problem;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ServiceClientTest {

    HttpServer server;
    String base;
    final AtomicReference<String> seenHeader = new AtomicReference<>();
    final AtomicReference<String> seenBody = new AtomicReference<>();
    final ServiceClient client = new ServiceClient(JsonMapper.builder().build());

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/ok", ex -> {
            seenHeader.set(ex.getRequestHeaders().getFirst("Idempotency-Key"));
            seenBody.set(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] b = "{\"answer\":42}".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.createContext("/problem", ex -> {
            byte[] b = "{\"status\":422,\"detail\":\"freq must be an Int\",\"field\":\"attrs.freq\"}".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/problem+json");
            ex.sendResponseHeaders(422, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void sendsJsonAndHeadersAndReadsTheAnswer() {
        JsonNode n = client.sendAsync("POST", base + "/ok", Map.of("x", 1), JsonNode.class, java.time.Duration.ofSeconds(5),
                Map.of("Idempotency-Key", "fb-1:7")).join();
        assertThat(n.get("answer").asInt()).isEqualTo(42);
        assertThat(seenHeader.get()).isEqualTo("fb-1:7");
        assertThat(seenBody.get()).isEqualTo("{\"x\":1}");
    }

    @Test
    void aCalleesProblemKeepsItsStatusDetailAndField() {
        assertThatThrownBy(() -> client.get(base + "/problem", JsonNode.class))
                .isInstanceOfSatisfying(ServiceClient.RemoteProblem.class, p -> {
                    assertThat(p.status()).isEqualTo(422);
                    assertThat(p.getMessage()).isEqualTo("freq must be an Int");
                    assertThat(p.field()).isEqualTo("attrs.freq");
                });
    }

    @Test
    void anUnreachableServiceIsA503() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertThatThrownBy(() -> client.get("http://127.0.0.1:" + port + "/x", JsonNode.class))
                .isInstanceOfSatisfying(M31Problem.class, p -> assertThat(p.status()).isEqualTo(503));
    }
}
