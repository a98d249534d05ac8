package dev.andromeda.common.problem;

import org.springframework.http.HttpStatus;

/**
 * A failure a client should see as an RFC 9457 problem: status, a stable type slug, a human
 * detail, and (when one request field is to blame) the name of that field.
 */
public class M31Problem extends RuntimeException {

    private final int status;
    private final String type;
    private final String field;
    private final java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();

    public M31Problem(int status, String type, String detail, String field) {
        super(detail, null, false, false);
        this.status = status;
        this.type = type;
        this.field = field;
    }

    public int status() { return status; }
    public String type() { return type; }
    public String field() { return field; }

    /** Response headers to send with the problem (Location of a redirect, the current generation, …). */
    public java.util.Map<String, String> headers() { return java.util.Collections.unmodifiableMap(headers); }

    public M31Problem withHeader(String name, String value) {
        if (value != null) headers.put(name, value);
        return this;
    }

    public static M31Problem badRequest(String field, String detail) {
        return new M31Problem(400, "bad-request", detail, field);
    }
    public static M31Problem notFound(String detail) {
        return new M31Problem(404, "not-found", detail, null);
    }
    /**
     * The store's 404 for a space that does not exist. Its detail is how a client of the store
     * (the fibrils' {@code fs.get}) tells it from a missing object, which is an answer (null), not
     * a mistake: see {@link #isNoSpace}.
     */
    public static M31Problem noSpace(String name) {
        return notFound(NO_SPACE + name);
    }
    private static final String NO_SPACE = "no space ";

    /** Whether this is {@link #noSpace}'s problem, here or as received from the store. */
    public boolean isNoSpace() {
        return status == 404 && getMessage() != null && getMessage().startsWith(NO_SPACE);
    }

    public static M31Problem conflict(String detail) {
        return new M31Problem(409, "conflict", detail, null);
    }
    public static M31Problem gone(String detail) {
        return new M31Problem(410, "gone", detail, null);
    }
    public static M31Problem tooLarge(String field, String detail) {
        return new M31Problem(413, "too-large", detail, field);
    }
    public static M31Problem unprocessable(String field, String detail) {
        return new M31Problem(422, "unprocessable", detail, field);
    }
    public static M31Problem unavailable(String detail) {
        return new M31Problem(503, "unavailable", detail, null);
    }

    public HttpStatus httpStatus() {
        HttpStatus s = HttpStatus.resolve(status);
        return s == null ? HttpStatus.INTERNAL_SERVER_ERROR : s;
    }
}
