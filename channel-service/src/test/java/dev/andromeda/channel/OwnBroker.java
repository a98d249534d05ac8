package dev.andromeda.channel;

import dev.andromeda.common.boot.M31Service;
import dev.andromeda.engines.EmbeddedKafkaEngine;
import dev.andromeda.engines.SharedEngines;
import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A channel service on a Kafka broker of its own, for tests that stop or restart brokers: the
 * channels of other tests live on the shared broker, not this one. It gets a database of its own
 * too (on the shared PostgreSQL), so its channels and cursors are only its own.
 */
final class OwnBroker {

    private OwnBroker() {}

    static ConfigurableApplicationContext channelService(EmbeddedKafkaEngine broker, String dbPrefix) throws Exception {
        var pg = SharedEngines.postgres();
        String db = dbPrefix + System.nanoTime();
        try (var c = java.sql.DriverManager.getConnection(pg.jdbcUrl(), pg.user(), pg.password())) {
            c.createStatement().execute("create database " + db);
        }
        Map<String, Object> props = new HashMap<>(SharedEngines.springProperties(false));
        props.put("spring.datasource.url", pg.jdbcUrl().substring(0, pg.jdbcUrl().lastIndexOf('/') + 1) + db);
        props.put("m31.kafka.bootstrap", broker.bootstrapServers());
        props.put("server.port", "0");
        String[] args = props.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        return M31Service.builder(ChannelServiceApplication.class, ChannelServiceApplication.NAME, WebApplicationType.SERVLET, Map.of()).run(args);
    }

    static int port(ConfigurableApplicationContext app) {
        return Integer.parseInt(app.getEnvironment().getProperty("local.server.port"));
    }
}
