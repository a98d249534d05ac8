package dev.andromeda.gateway;

import dev.andromeda.common.config.M31Properties;
import dev.andromeda.gateway.auth.AuthProperties;
import dev.andromeda.gateway.auth.BearerAuthFilter;
import dev.andromeda.gateway.auth.TokenVerifier;
import dev.andromeda.gateway.limit.BodyLimitFilter;
import dev.andromeda.gateway.problem.Problems;
import dev.andromeda.gateway.route.BindingResolver;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({AuthProperties.class, GatewaySettings.class})
class GatewayConfiguration {

    @Bean
    TokenVerifier tokenVerifier(AuthProperties auth) {
        // fails startup with a clear message when m31.auth.secret is missing or under 32 bytes
        return new TokenVerifier(auth.getSecret(), auth.getIssuer(), auth.getClockSkew());
    }

    @Bean
    BearerAuthFilter bearerAuthFilter(TokenVerifier verifier, Problems problems) {
        return new BearerAuthFilter(verifier, problems);
    }

    @Bean
    BodyLimitFilter bodyLimitFilter(GatewaySettings settings, Problems problems) {
        return new BodyLimitFilter(settings.getMaxBodySize().toBytes(), problems);
    }

    @Bean
    BindingResolver bindingResolver(M31Properties m31, GatewaySettings settings, ObjectProvider<JsonMapper> json) {
        return new BindingResolver(m31.service("naming"), settings.getResolveTtl(), settings.getNamingTimeout(),
                settings.getResolveCacheEntries(), json.getIfAvailable(() -> JsonMapper.builder().build()));
    }
}
