package dev.andromeda.common.config;

import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.common.problem.ProblemAdvice;
import dev.andromeda.common.web.BodyLimitFilter;
import dev.andromeda.common.web.BodyLimits;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.json.JsonMapper;

/** What every M31 service gets by depending on common/. */
@AutoConfiguration(afterName = "org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration")
@EnableConfigurationProperties(M31Properties.class)
public class CommonAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    ServiceClient serviceClient(org.springframework.beans.factory.ObjectProvider<JsonMapper> mapper) {
        return new ServiceClient(mapper.getIfAvailable(() -> JsonMapper.builder().findAndAddModules().build()));
    }

    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @Import(ProblemAdvice.class)
    static class ServletProblems {

        @Bean
        BodyLimitFilter bodyLimitFilter(org.springframework.beans.factory.ObjectProvider<BodyLimits> limits, JsonMapper json) {
            return new BodyLimitFilter(limits.getIfAvailable(() -> request -> BodyLimits.DEFAULT), json);
        }
    }
}
