package dev.andromeda.fibril;

import dev.andromeda.common.config.M31Properties;
import dev.andromeda.common.http.ServiceClient;
import dev.andromeda.fibril.effects.EffectCombiner;
import dev.andromeda.fibril.mantle.HttpMantle;
import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.mantle.NodePresence;
import dev.andromeda.fibril.nucleus.FibrilSettings;
import dev.andromeda.fibril.nucleus.Nucleus;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;

/**
 * Wires one node. Everything here is per application context (two nodes share a JVM in local
 * mode): the Rhino factory, the carriers, the combiner and the caches all hang off these beans.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(FibrilSettings.class)
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
    Nucleus nucleus(Mantle mantle, EffectCombiner combiner, M31Properties props, FibrilSettings settings) {
        return new Nucleus(nodeName(props), settings, mantle, combiner);
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
}
