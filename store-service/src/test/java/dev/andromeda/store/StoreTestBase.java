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
abstract class StoreTestBase {

    @DynamicPropertySource
    static void engines(DynamicPropertyRegistry r) {
        var pg = SharedEngines.postgres();
        r.add("spring.datasource.url", pg::jdbcUrl);
        r.add("spring.datasource.username", pg::user);
        r.add("spring.datasource.password", pg::password);
    }

    @LocalServerPort int port;
    TestHttp http;

    @BeforeEach
    void client() {
        http = new TestHttp(port);
    }
}
