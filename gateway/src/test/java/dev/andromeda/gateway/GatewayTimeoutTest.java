package dev.andromeda.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.andromeda.gateway.auth.Tokens;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.json.JsonMapper;

/** An upstream slower than the response timeout is a 504 problem naming it (timeout shortened to 1 s here). */
@SpringBootTest(classes = GatewayApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
                "spring.config.name=gateway",
                "m31.auth.secret=" + GatewayTest.SECRET,
                "spring.cloud.gateway.server.webflux.httpclient.response-timeout=1s"
        })
class GatewayTimeoutTest {

    static HttpServer slow;

    @LocalServerPort
    int port;

    @BeforeAll
    static void start() throws Exception {
        slow = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        slow.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        slow.createContext("/", ex -> {
            try {
                Thread.sleep(4000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                ex.sendResponseHeaders(204, -1);
            } catch (java.io.IOException ignored) {
                // the gateway gave up and closed the connection
            }
            ex.close();
        });
        slow.start();
    }

    @AfterAll
    static void stop() {
        slow.stop(0);
    }

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry r) {
        r.add("m31.services.scheduler", () -> "http://127.0.0.1:" + slow.getAddress().getPort());
    }

    @Test
    void slowUpstreamIs504Problem() throws Exception {
        String token = Tokens.mint(GatewayTest.SECRET, "alice", List.of(), Duration.ofMinutes(5));
        HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sched/nodes"))
                        .header("Authorization", "Bearer " + token).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
        var p = JsonMapper.builder().build().readTree(r.body());
        assertThat(p.path("status").asInt()).isEqualTo(504);
        assertThat(p.path("detail").asString()).isEqualTo("scheduler-service did not answer in time");
    }
}
