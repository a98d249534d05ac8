package dev.andromeda.local.demo;

import dev.andromeda.client.ApiClient;
import dev.andromeda.client.ApiException;
import dev.andromeda.client.api.FibrilsApi;
import dev.andromeda.client.api.StoreApi;
import dev.andromeda.client.model.Fibril;
import dev.andromeda.client.model.SpawnRequest;
import dev.andromeda.client.model.StoredObject;
import dev.andromeda.examples.corpus.McIlroy;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the paper's word count (examples/wordfreq.js) on a constellation the way a user would:
 * through the gateway with the generated Java client, then reads the result back from the store.
 */
public final class WordFreqJob {

    public static final String SPACE = "words";

    public record Result(String fibrilId, Fibril fibril, Duration elapsed) {}

    private final FibrilsApi fibrils;
    private final StoreApi store;

    public WordFreqJob(String gatewayUrl, String token) {
        ApiClient client = new ApiClient();
        client.updateBaseUri(gatewayUrl);
        client.setRequestInterceptor(b -> b.header("Authorization", "Bearer " + token));
        client.setReadTimeout(Duration.ofSeconds(90));
        this.fibrils = new FibrilsApi(client);
        this.store = new StoreApi(client);
    }

    public static String script() throws IOException {
        try (InputStream in = WordFreqJob.class.getResourceAsStream("/examples/wordfreq.js")) {
            if (in == null) throw new IOException("examples/wordfreq.js is not on the classpath");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Spawns the root fibril on the seed URL and waits for it to end. */
    public Result run(String seedUrl, Duration timeout) throws ApiException, IOException {
        long t0 = System.nanoTime();
        SpawnRequest req = new SpawnRequest().source(script()).kind(SpawnRequest.KindEnum.SCRIPT).args(List.of(seedUrl));
        Fibril f = fibrils.spawnFibril(req);
        long deadline = t0 + timeout.toNanos();
        while (!ended(f) && System.nanoTime() < deadline) {
            f = fibrils.getFibril(f.getId(), 30);
        }
        if (!ended(f)) throw new IllegalStateException("wordfreq did not finish within " + timeout + ": " + f);
        return new Result(f.getId(), f, Duration.ofNanos(System.nanoTime() - t0));
    }

    private static boolean ended(Fibril f) {
        return f.getState() != null && switch (f.getState()) {
            case DONE, FAILED, KILLED -> true;
            default -> false;
        };
    }

    /** Every word and its count, as the store holds them. */
    public Map<String, Long> counts() throws ApiException {
        Map<String, Long> counts = new HashMap<>();
        for (StoredObject o : store.querySpace(SPACE, "JSON", null, 100_000)) {
            counts.put(o.getKey(), ((Number) o.getAttrs().get("freq")).longValue());
        }
        return counts;
    }

    /**
     * The top {@code n} lines exactly as {@code sort | uniq -c | sort -rn | sed ${n}q} prints them.
     * The store sorts by count; words tied with the n-th count are all fetched so the tie order
     * (descending bytes, as sort -r compares whole lines) is decided here.
     */
    public List<String> top(int n) throws ApiException {
        int limit = n;
        while (true) {
            List<StoredObject> page = store.querySpace(SPACE, "JSON", "-freq", limit);
            if (page.size() < limit || freq(page.get(page.size() - 1)) < freq(page.get(Math.min(n, page.size()) - 1))) {
                Map<String, Long> counts = new HashMap<>();
                for (StoredObject o : page) counts.put(o.getKey(), freq(o));
                return McIlroy.top(counts, n);
            }
            limit *= 2;
        }
    }

    private static long freq(StoredObject o) {
        return ((Number) o.getAttrs().get("freq")).longValue();
    }

    public static String seedOf(URI corpus) {
        return corpus.toString();
    }
}
