package dev.andromeda.gateway.route;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** What naming says about an id: where it lives now ({@code url}) and at which generation. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Binding(String id, String kind, String node, String url, Long generation, Boolean gone) {

    boolean isGone() { return Boolean.TRUE.equals(gone); }

    long gen() { return generation == null ? 0L : generation; }

    /** Same place and generation: re-sending there would not change anything. */
    boolean samePlace(Binding other) {
        return other != null && java.util.Objects.equals(url, other.url) && gen() == other.gen();
    }
}
