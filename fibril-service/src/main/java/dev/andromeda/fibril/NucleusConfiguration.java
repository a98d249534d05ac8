package dev.andromeda.fibril;

import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.fibril.effects.EffectCombiner;
import dev.andromeda.fibril.mantle.HttpMantle;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.mantle.NodePresence;
import dev.andromeda.fibril.migration.PacketKey;
import dev.andromeda.fibril.nucleus.FibrilSettings;
import dev.andromeda.fibril.nucleus.Nucleus;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.event.EventListener;

/**
 * Wires one node. Everything here is per application context (two nodes share a JVM in local
 * mode): the Rhino factory, the carriers, the combiner and the caches all hang off these beans.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(FibrilSettings.class)
// a node's virtual resources: /net/node={n}/metrics and /tcpdmp (admin only)
@Import(dev.andromeda.common.net.NodeResourcesController.class)
public class NucleusConfiguration {

    static String nodeName(M31Properties props) {
        return props.getNode() == null || props.getNode().isBlank() ? "E0" : props.getNode();
    }

    @Bean
    Mantle mantle(ServiceClient client, M31Properties props) {
        return new HttpMantle(client, props);
    }

    @Bean(destroyMethod = "close")
    EffectCombiner effectCombiner(Mantle mantle, M31Properties props, FibrilSettings settings) {
        return new EffectCombiner(mantle, nodeName(props), settings.getFlushInterval(), settings.getFlushMaxEntries());
    }

    @Bean(destroyMethod = "close")
    Nucleus nucleus(Mantle mantle, EffectCombiner combiner, M31Properties props, FibrilSettings settings,
                    org.springframework.core.env.Environment env) {
        PacketKey key = PacketKey.resolve(settings.getPacketKey(), env.getProperty("m31.auth.secret"));
        org.slf4j.LoggerFactory.getLogger(NucleusConfiguration.class).info("node {}: migration packet key {}", nodeName(props), key.origin());
        return new Nucleus(nodeName(props), settings, mantle, combiner, key);
    }

    @Bean(destroyMethod = "close")
    NodePresence nodePresence(Mantle mantle, Nucleus nucleus, M31Properties props) {
        return new NodePresence(mantle, nodeName(props), nucleus::running);
    }

    /** Only once the node can serve does it tell naming and the scheduler about itself. */
    @EventListener(ApplicationReadyEvent.class)
    void ready(ApplicationReadyEvent event) {
        event.getApplicationContext().getBean(NodePresence.class).start();
    }

    /** What /net/node={n}/metrics adds for a nucleus: how many fibrils it holds, and in which state. */
    @Bean
    dev.andromeda.common.net.NodeResourcesController.NodeMetrics nucleusMetrics(Nucleus nucleus) {
        return () -> {
            java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
            java.util.Map<String, Long> byState = new java.util.TreeMap<>();
            for (var f : nucleus.live()) byState.merge(String.valueOf(f.state()).toLowerCase(java.util.Locale.ROOT), 1L, Long::sum);
            m.put("fibrils", nucleus.running());
            m.put("fibrilsByState", byState);
            m.put("carriers", nucleus.settings().carrierCount());
            return m;
        };
    }
}
