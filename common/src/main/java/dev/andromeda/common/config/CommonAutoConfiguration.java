package dev.andromeda.common.config;

import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.problem.ProblemAdvice;
import dev.andromeda.common.security.Caller;
import dev.andromeda.common.security.InternalIdentity;
import dev.andromeda.common.security.InternalIdentityFilter;
import dev.andromeda.common.security.OnInternalKey;
import dev.andromeda.common.security.ReplayGuard;
import dev.andromeda.common.web.BodyLimitFilter;
import dev.andromeda.common.web.BodyLimits;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.Environment;
import tools.jackson.databind.json.JsonMapper;

/**
 * What every M31 service gets by depending on common/: the service client, problem+json for
 * every failure, bounded request bodies, and — when {@code m31.internal.key} is set — the signed
 * internal identity: outgoing ServiceClient calls are signed, incoming requests of a servlet
 * service must carry a valid, fresh, unused {@code X-M31-Identity} header.
 */
@AutoConfiguration(afterName = "org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration")
@EnableConfigurationProperties(M31Properties.class)
public class CommonAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    ServiceClient serviceClient(ObjectProvider<JsonMapper> mapper, ObjectProvider<InternalIdentity> identity,
                                M31Properties props, Environment env) {
        JsonMapper json = mapper.getIfAvailable(() -> JsonMapper.builder().findAndAddModules().build());
        InternalIdentity signer = identity.getIfAvailable();
        return signer == null ? new ServiceClient(json) : new ServiceClient(json, signer, selfIdentity(props, env));
    }

    /** A node signs as {@code node:<name>}, a mantle service as {@code service:<application name>}. */
    public static Caller selfIdentity(M31Properties props, Environment env) {
        if (props.getNode() != null && !props.getNode().isBlank()) return Caller.service("node:" + props.getNode());
        return Caller.service("service:" + env.getProperty("spring.application.name", "m31"));
    }

    @Bean
    @ConditionalOnMissingBean
    @Conditional(OnInternalKey.class)
    InternalIdentity internalIdentity(M31Properties props) {
        // fails startup with a clear message when the key is shorter than 32 bytes
        return new InternalIdentity(props.getInternal().getKey(), props.getInternal().getTtl());
    }

    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @Import(ProblemAdvice.class)
    static class ServletProblems {

        /** After Boot's own (order 0), so that this JSON converter is the one requests are read with. */
        @Bean
        @org.springframework.core.annotation.Order(org.springframework.core.Ordered.LOWEST_PRECEDENCE)
        org.springframework.boot.http.converter.autoconfigure.ServerHttpMessageConvertersCustomizer strictJsonBodies(JsonMapper json) {
            return builder -> builder.withJsonConverter(new dev.andromeda.common.web.StrictJsonBodies(json));
        }

        @Bean
        BodyLimitFilter bodyLimitFilter(ObjectProvider<BodyLimits> limits, JsonMapper json) {
            return new BodyLimitFilter(limits.getIfAvailable(() -> request -> BodyLimits.DEFAULT), json);
        }

        @Bean
        @Conditional(OnInternalKey.class)
        InternalIdentityFilter internalIdentityFilter(InternalIdentity identity, M31Properties props, JsonMapper json) {
            return new InternalIdentityFilter(identity, new ReplayGuard(), props.getInternal().isRequire(), json);
        }
    }
}
