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

    public String getNode() { return node; }
    public void setNode(String node) { this.node = node; }
    public String getSelfUrl() { return selfUrl; }
    public void setSelfUrl(String selfUrl) { this.selfUrl = selfUrl; }
    public Map<String, String> getServices() { return services; }
    public void setServices(Map<String, String> services) { this.services = services; }
    public Map<String, String> getLabels() { return labels; }
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
