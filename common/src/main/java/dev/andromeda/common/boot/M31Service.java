package dev.andromeda.common.boot;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts one M31 service. Every service is also started, several to a JVM, by local/, so each
 * reads its own config file ({@code <name>.yml}) instead of the shared name application.yml,
 * which would collide on one classpath.
 */
public final class M31Service {

    private M31Service() {}

    public static SpringApplicationBuilder builder(Class<?> app, String name, WebApplicationType type,
                                                   Map<String, Object> properties) {
        Map<String, Object> props = new LinkedHashMap<>();
        props.put("spring.config.name", name);
        props.put("spring.application.name", name);
        // an application event per request that no service listens to (about 1% of a small GET's CPU)
        props.put("spring.mvc.publish-request-handled-events", "false");
        props.putAll(properties);
        return new SpringApplicationBuilder(app).web(type).properties(props);
    }

    public static ConfigurableApplicationContext run(Class<?> app, String name, String[] args) {
        return builder(app, name, WebApplicationType.SERVLET, Map.of()).run(args);
    }
}
