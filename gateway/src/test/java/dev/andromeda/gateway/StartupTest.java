package dev.andromeda.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.andromeda.gateway.auth.TokenVerifier;
import dev.andromeda.gateway.auth.Tokens;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;

/** The gateway refuses to start without a usable key; tokens round-trip. */
class StartupTest {

    private static Throwable root(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }

    @Test
    void missingSecretFailsStartupClearly() {
        assertThatThrownBy(() -> new SpringApplicationBuilder(GatewayApplication.class)
                .web(WebApplicationType.REACTIVE)
                .properties("spring.config.name=gateway", "server.port=0", "m31.auth.secret=")
                .run().close())
                .satisfies(e -> assertThat(root(e).getMessage()).contains("M31_AUTH_SECRET").contains("not set"));
    }

    @Test
    void shortSecretFailsStartupClearly() {
        assertThatThrownBy(() -> new SpringApplicationBuilder(GatewayApplication.class)
                .web(WebApplicationType.REACTIVE)
                .properties("spring.config.name=gateway", "server.port=0", "m31.auth.secret=too-short")
                .run().close())
                .satisfies(e -> assertThat(root(e).getMessage()).contains("M31_AUTH_SECRET").contains("at least 32"));
    }

    @Test
    void mintedTokensVerify() throws Exception {
        String secret = "0123456789abcdef0123456789abcdef";
        String token = Tokens.mint(secret, "admin", List.of("admin"), Duration.ofHours(1));
        TokenVerifier.Identity who = new TokenVerifier(secret, "m31", Duration.ZERO).verify(token);
        assertThat(who.subject()).isEqualTo("admin");
        assertThat(who.roles()).containsExactly("admin");
        assertThatThrownBy(() -> new TokenVerifier(secret, "other-issuer", Duration.ZERO).verify(token))
                .hasMessageContaining("issued");
    }
}
