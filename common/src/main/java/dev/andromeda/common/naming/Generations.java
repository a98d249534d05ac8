package dev.andromeda.common.naming;

import dev.andromeda.common.problem.M31Problem;
import jakarta.servlet.http.HttpServletRequest;

/**
 * Stale handles. Every binding in naming has a generation that grows when its resource moves.
 * The gateway sends the generation it resolved in {@value #HEADER} with every request it routes
 * through a binding (/fibrils/{id}…, /net/node={n}…), and a caller that kept an older handle may
 * send it too. A node that is asked for a resource it no longer holds (it migrated away), or
 * holds at another generation, answers with {@link #notHere}:
 * <ul>
 *   <li>from the gateway ({@value #HEADER} present, or {@code Via} names the gateway) it is a
 *       {@code 421 Misdirected Request} problem: the gateway evicts its cached resolution, asks
 *       naming again and re-sends the request once, to the current holder;</li>
 *   <li>from anyone else it is a {@code 307 Temporary Redirect} to the current holder (same
 *       method and body), with the current generation in {@value #HEADER}.</li>
 * </ul>
 * A resource that is gone (exited, deleted) is {@link M31Problem#gone} (410), never 404.
 */
public final class Generations {

    public static final String HEADER = "X-M31-Generation";
    /** Header the gateway sets on the requests it routes, so a node knows it may answer 421. */
    public static final String ROUTED_HEADER = "X-M31-Routed";

    private Generations() {}

    /** The generation the caller resolved, or -1 when it sent none (or garbage). */
    public static long requested(HttpServletRequest req) {
        String v = req.getHeader(HEADER);
        if (v == null) return -1;
        try {
            long g = Long.parseLong(v.trim());
            return g >= 1 ? g : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * True when the caller resolved a newer generation than the one this node holds: its copy is
     * a leftover of a move, the resource lives elsewhere now. An older generation reaching the
     * holder is just a caller with an old handle that came to the right place: served.
     */
    public static boolean isStale(HttpServletRequest req, long held) {
        long g = requested(req);
        return g > 0 && g > held;
    }

    /**
     * The answer of a node that does not hold {@code id} (at the generation asked for):
     * 421 for the gateway, 307 to {@code currentBaseUrl} + the same path and query for others.
     *
     * @param currentBaseUrl the current holder's base URL from naming (null when unknown: then 421 for all)
     */
    public static M31Problem notHere(HttpServletRequest req, String id, String currentBaseUrl, long currentGeneration) {
        boolean fromGateway = req.getHeader(ROUTED_HEADER) != null;
        String gen = currentGeneration > 0 ? Long.toString(currentGeneration) : null;
        if (fromGateway || currentBaseUrl == null || currentBaseUrl.isBlank()) {
            return new M31Problem(421, "stale-generation", id + " is not held here"
                    + (gen == null ? "" : " (it is at generation " + gen + ")") + ": resolve it again", null)
                    .withHeader(HEADER, gen);
        }
        String base = currentBaseUrl.endsWith("/") ? currentBaseUrl.substring(0, currentBaseUrl.length() - 1) : currentBaseUrl;
        String location = base + req.getRequestURI() + (req.getQueryString() == null ? "" : "?" + req.getQueryString());
        return new M31Problem(307, "moved", id + " has moved" + (gen == null ? "" : " (generation " + gen + ")")
                + "; repeat the request at " + location, null)
                .withHeader("Location", location)
                .withHeader(HEADER, gen);
    }

    /** Throws {@link #notHere} when the request names a generation newer than {@code held}. */
    public static void check(HttpServletRequest req, String id, long held, String currentBaseUrl, long currentGeneration) {
        if (isStale(req, held)) throw notHere(req, id, currentBaseUrl, currentGeneration);
    }
}
