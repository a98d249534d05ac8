package dev.andromeda.store;

import dev.andromeda.common.testing.TestHttp;
import dev.andromeda.engines.SharedEngines;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The service on a random port over one real embedded PostgreSQL (one context for all test classes). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.config.name=store-service", "spring.application.name=store-service"})
public abstract class StoreTestBase {

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        SharedEngines.springProperties(false).forEach((k, v) -> r.add(k, () -> v));
    }

    @LocalServerPort int port;
    protected TestHttp http;

    @BeforeEach
    protected void client() {
        http = new TestHttp(port);
    }

    private static final java.net.http.HttpClient RAW = java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_1_1).build();

    /** A request with headers, answering the headers too (TestHttp keeps only the body). */
    protected java.net.http.HttpResponse<byte[]> raw(String method, String path, String body, String... headers) {
        var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(http.base() + path))
                .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
                        : java.net.http.HttpRequest.BodyPublishers.ofString(body));
        if (body != null) b.header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        try {
            return RAW.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    protected static tools.jackson.databind.JsonNode json(java.net.http.HttpResponse<byte[]> r) {
        return TestHttp.JSON.readTree(r.body());
    }

    protected static String text(java.net.http.HttpResponse<byte[]> r) {
        return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
    }
}
