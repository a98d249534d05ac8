package dev.andromeda.scheduler;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import dev.andromeda.common.security.InternalIdentity;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

/**
 * Forwards a spawn to the chosen node and hands back its answer as it came: status, content
 * type and body, so a node's problem (a syntax error with its line and column, …) reaches the
 * client with every property the node put in it. ServiceClient would keep only detail and field.
 */
@Component
public class NodeForwarder {

    /** The node's answer, verbatim. */
    public record Answer(int status, String contentType, byte[] body) {}

    /** The node could not be connected to: nothing reached it, so another node may be tried. */
    public static class Unreachable extends Exception {
        public Unreachable(String message, Throwable cause) { super(message, cause, false, false); }
    }

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    private final Duration timeout;

    public NodeForwarder(@Value("${m31.scheduler.spawn-timeout:30s}") Duration timeout) {
        this.timeout = timeout;
    }

    /**
     * @param identity the signed internal identity for this request ({@code X-M31-Identity}), or
     *                 null where the constellation runs without an internal key
     */
    public Answer post(String url, byte[] json, String identity) throws Unreachable, IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, application/problem+json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(json));
        if (identity != null) b.header(InternalIdentity.HEADER, identity);
        HttpRequest req = b.build();
        try {
            HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            return new Answer(r.statusCode(), r.headers().firstValue("Content-Type").orElse("application/json"), r.body());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            throw new Unreachable("cannot connect to " + URI.create(url).getAuthority(), e);
        } catch (IOException e) {
            // java.net.http wraps a refused connection in a plain IOException at times
            if (e.getCause() instanceof ConnectException) throw new Unreachable("cannot connect to " + URI.create(url).getAuthority(), e);
            throw e;
        }
    }

    static String text(byte[] body) {
        return new String(body, StandardCharsets.UTF_8);
    }
}
