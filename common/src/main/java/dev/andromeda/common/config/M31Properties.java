package dev.andromeda.common.config;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Where this process sits in the constellation: its node name (fibril nodes), the URL others
 * reach it at, and the URLs of the mantle services it calls (naming, store, channel, scheduler,
 * gateway).
 */
@ConfigurationProperties(prefix = "m31")
public class M31Properties {

    private String node;
    private String selfUrl;
    private Map<String, String> services = new LinkedHashMap<>();
    private Map<String, String> labels = new LinkedHashMap<>();
    private final Internal internal = new Internal();

    /**
     * {@code m31.internal.*}: the key the gateway and the services sign and verify the internal
     * identity header with ({@code X-M31-Identity}). Unset: nothing is signed or checked.
     */
    public static class Internal {
        private String key;
        /** How long a signed header is good for (it is also bound to one method, path and use). */
        private java.time.Duration ttl = java.time.Duration.ofSeconds(30);
        /** false: unsigned requests pass without a caller (signed ones are still checked). */
        private boolean require = true;

        public String getKey() { return key; }
        public void setKey(String key) { this.key = key; }
        public java.time.Duration getTtl() { return ttl; }
        public void setTtl(java.time.Duration ttl) { this.ttl = ttl; }
        public boolean isRequire() { return require; }
        public void setRequire(boolean require) { this.require = require; }
        public boolean enabled() { return key != null && !key.isBlank(); }
    }

    public String getNode() { return node; }
    public void setNode(String node) { this.node = node; }
    public String getSelfUrl() { return selfUrl; }
    public void setSelfUrl(String selfUrl) { this.selfUrl = selfUrl; }
    public Map<String, String> getServices() { return services; }
    public void setServices(Map<String, String> services) { this.services = services; }
    public Map<String, String> getLabels() { return labels; }
    public Internal getInternal() { return internal; }
    public void setLabels(Map<String, String> labels) { this.labels = labels; }

    /** The base URL of a mantle service, e.g. {@code service("store")}; fails loudly when unset. */
    public String service(String name) {
        String url = services.get(name);
        if (url == null || url.isBlank()) {
            throw new IllegalStateException("m31.services." + name + " is not configured");
        }
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }
}
