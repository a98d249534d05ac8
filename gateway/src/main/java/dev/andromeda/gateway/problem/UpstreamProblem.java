package dev.andromeda.gateway.problem;

import org.springframework.http.MediaType;

/**
 * A problem answered by one of our services while the gateway was asking it something on the
 * client's behalf (naming, resolving an id): handed to the client unchanged.
 */
public class UpstreamProblem extends RuntimeException {

    private final int status;
    private final MediaType contentType;
    private final byte[] body;

    public UpstreamProblem(int status, MediaType contentType, byte[] body) {
        super("upstream problem " + status, null, false, false);
        this.status = status;
        this.contentType = contentType;
        this.body = body;
    }

    public int status() { return status; }
    public MediaType contentType() { return contentType; }
    public byte[] body() { return body; }
}
