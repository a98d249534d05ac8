package dev.andromeda.fibril.modules;

import dev.andromeda.fibril.mantle.Mantle;
import dev.andromeda.fibril.mantle.Mantle.SpaceInfo;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which spaces exist and what their key attributes are called, as far as this node knows: a
 * cache over GET /fs, so that the millionth {@code fs.invoke({word: w, …})} finds "words"
 * without a request. Empty answers are not cached (the space may be made a moment later), and
 * answers expire, so spaces made elsewhere are seen.
 */
final class SpaceDirectory {

    private static final long TTL_NANOS = 30_000_000_000L;
    private static final String ALL = "\u0000all";

    private record Entry(List<SpaceInfo> spaces, long at) {}

    private final Mantle mantle;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();

    SpaceDirectory(Mantle mantle) {
        this.mantle = mantle;
    }

    /** Cached spaces keyed by {@code attr}, or null when the store must be asked. */
    List<SpaceInfo> cachedKeyedBy(String attr) {
        Entry e = cache.get(attr);
        return e == null || System.nanoTime() - e.at() > TTL_NANOS ? null : e.spaces();
    }

    CompletableFuture<List<SpaceInfo>> keyedBy(String attr) {
        List<SpaceInfo> c = cachedKeyedBy(attr);
        if (c != null) return CompletableFuture.completedFuture(c);
        return mantle.listSpaces(attr).thenApply(spaces -> {
            // only what the store says is keyed so: a store ignoring the filter must not mislead us
            List<SpaceInfo> keyed = spaces.stream().filter(s -> attr.equals(s.key())).toList();
            if (!keyed.isEmpty()) cache.put(attr, new Entry(keyed, System.nanoTime()));
            return keyed;
        });
    }

    /** The space named {@code name}, or null when the store does not list it. */
    CompletableFuture<SpaceInfo> named(String name) {
        Entry e = cache.get(ALL);
        if (e != null && System.nanoTime() - e.at() <= TTL_NANOS) {
            SpaceInfo hit = find(e.spaces(), name);
            if (hit != null) return CompletableFuture.completedFuture(hit);
        }
        return mantle.listSpaces(null).thenApply(spaces -> {
            cache.put(ALL, new Entry(spaces, System.nanoTime()));
            return find(spaces, name);
        });
    }

    SpaceInfo cachedNamed(String name) {
        Entry e = cache.get(ALL);
        return e == null || System.nanoTime() - e.at() > TTL_NANOS ? null : find(e.spaces(), name);
    }

    private static SpaceInfo find(List<SpaceInfo> spaces, String name) {
        for (SpaceInfo s : spaces) if (s.name().equals(name)) return s;
        return null;
    }

    void forget() {
        cache.clear();
    }
}
