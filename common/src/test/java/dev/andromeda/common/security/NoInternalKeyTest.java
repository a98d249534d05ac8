package dev.andromeda.common.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.testing.TestHttp;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.ApplicationContext;
import tools.jackson.databind.JsonNode;

/** Without m31.internal.key nothing is checked or signed: services' direct tests keep working. */
@SpringBootTest(classes = InternalIdentityFilterTest.App.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"spring.application.name=probe", "m31.internal.key="})
class NoInternalKeyTest {

    @LocalServerPort
    int port;
    @Autowired
    ApplicationContext ctx;
    @Autowired
    ServiceClient client;

    @Test
    void noFilterNoSigningAndAccessAllows() {
        assertThat(ctx.getBeansOfType(InternalIdentityFilter.class)).isEmpty();
        assertThat(ctx.getBeansOfType(InternalIdentity.class)).isEmpty();
        assertThat(client.identity()).isNull();
        assertThat(client.as(Caller.of("x", List.of()))).isSameAs(client);
        assertThat(new TestHttp(port).get("/admin-only").status()).isEqualTo(200);
        assertThat(new TestHttp(port).get("/fibrils/fb-x").status()).isEqualTo(200);
    }
}
