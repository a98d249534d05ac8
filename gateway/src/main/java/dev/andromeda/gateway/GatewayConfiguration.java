package dev.andromeda.gateway;

import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.gateway.auth.AdminPathFilter;
import dev.andromeda.gateway.auth.AuthProperties;
import dev.andromeda.gateway.auth.BearerAuthFilter;
import dev.andromeda.gateway.auth.GatewaySigner;
import dev.andromeda.gateway.auth.TokenVerifier;
import dev.andromeda.gateway.docs.ApiDocs;
import dev.andromeda.gateway.limit.BodyLimitFilter;
import dev.andromeda.gateway.problem.Problems;
import dev.andromeda.gateway.pub.PublicInterfaceFilter;
import dev.andromeda.gateway.route.AliasFilter;
import dev.andromeda.gateway.route.BindingResolver;
import dev.andromeda.gateway.route.IdentityHeaderFilter;
import dev.andromeda.gateway.route.NameLookups;
import dev.andromeda.gateway.web.PathGuardFilter;
import dev.andromeda.gateway.web.TraceContextFilter;
import java.io.IOException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;
import tools.jackson.databind.json.JsonMapper;

@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({AuthProperties.class, GatewaySettings.class})
class GatewayConfiguration {

    @Bean
    TokenVerifier tokenVerifier(AuthProperties auth) {
        // fails startup with a clear message when neither a usable m31.auth.secret nor m31.auth.jwks-url is set
        return new TokenVerifier(auth.getSecret(), auth.getJwksUrl(), auth.getIssuer(), auth.getClockSkew());
    }

    @Bean
    GatewaySigner gatewaySigner(ObjectProvider<InternalIdentity> identity) {
        return new GatewaySigner(identity.getIfAvailable());
    }

    @Bean
    dev.andromeda.gateway.web.EdgeProblems edgeProblems() {
        return new dev.andromeda.gateway.web.EdgeProblems();
    }

    @Bean
    TraceContextFilter traceContextFilter() {
        return new TraceContextFilter();
    }

    @Bean
    PathGuardFilter pathGuardFilter(Problems problems) {
        return new PathGuardFilter(problems);
    }

    @Bean
    BearerAuthFilter bearerAuthFilter(TokenVerifier verifier, Problems problems, GatewaySettings settings) {
        return new BearerAuthFilter(verifier, problems, settings.isAnonymousReads());
    }

    @Bean
    BodyLimitFilter bodyLimitFilter(GatewaySettings settings, Problems problems) {
        return new BodyLimitFilter(settings.getMaxBodySize().toBytes(), problems);
    }

    @Bean
    NameLookups nameLookups(M31Properties m31, GatewaySettings settings, ObjectProvider<JsonMapper> json, GatewaySigner signer) {
        return new NameLookups(m31.service("naming"), settings.getResolveTtl(), settings.getNamingTimeout(),
                json.getIfAvailable(() -> JsonMapper.builder().build()), signer);
    }

    @Bean
    PublicInterfaceFilter publicInterfaceFilter(NameLookups names, Problems problems) {
        return new PublicInterfaceFilter(names, problems);
    }

    @Bean
    AliasFilter aliasFilter(NameLookups names, Problems problems) {
        return new AliasFilter(names, problems);
    }

    @Bean
    AdminPathFilter adminPathFilter(Problems problems) {
        return new AdminPathFilter(AdminPathFilter.DEFAULT_RULES, problems);
    }

    @Bean
    IdentityHeaderFilter identityHeaderFilter(GatewaySigner signer) {
        return new IdentityHeaderFilter(signer);
    }

    @Bean
    BindingResolver bindingResolver(M31Properties m31, GatewaySettings settings, ObjectProvider<JsonMapper> json, GatewaySigner signer) {
        return new BindingResolver(m31.service("naming"), settings.getResolveTtl(), settings.getNamingTimeout(),
                settings.getResolveCacheEntries(), json.getIfAvailable(() -> JsonMapper.builder().build()), signer);
    }

    @Bean
    ApiDocs apiDocs(ObjectProvider<JsonMapper> json) throws IOException {
        return new ApiDocs(json.getIfAvailable(() -> JsonMapper.builder().build()));
    }

    @Bean
    RouterFunction<ServerResponse> apiDocsRoutes(ApiDocs docs) {
        return docs.routes();
    }
}
