package dev.andromeda.gateway.problem;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/** Writes RFC 9457 application/problem+json responses (type, title, status, detail, instance). */
@Component
public class Problems {

    private final JsonMapper json;

    public Problems(ObjectProvider<JsonMapper> json) {
        this.json = json.getIfAvailable(() -> JsonMapper.builder().build());
    }

    public Map<String, Object> body(int status, String type, String detail, String instance) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "/problems/" + type);
        HttpStatus known = HttpStatus.resolve(status);
        body.put("title", known == null ? "Error " + status : known.getReasonPhrase());
        body.put("status", status);
        body.put("detail", detail);
        if (instance != null) body.put("instance", instance);
        return body;
    }

    /** Answers with a problem; the caller has checked that the response is not committed. */
    public Mono<Void> write(ServerWebExchange exchange, int status, String type, String detail) {
        return write(exchange, status, type, detail, null);
    }

    public Mono<Void> write(ServerWebExchange exchange, int status, String type, String detail,
                            java.util.function.Consumer<HttpHeaders> extraHeaders) {
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(body(status, type, detail, exchange.getRequest().getPath().value()));
        } catch (RuntimeException e) {
            bytes = ("{\"status\":" + status + "}").getBytes(StandardCharsets.UTF_8);
        }
        return raw(exchange, HttpStatusCode.valueOf(status), MediaType.APPLICATION_PROBLEM_JSON, bytes, extraHeaders);
    }

    public Mono<Void> raw(ServerWebExchange exchange, HttpStatusCode status, MediaType type, byte[] bytes,
                          java.util.function.Consumer<HttpHeaders> extraHeaders) {
        ServerHttpResponse response = exchange.getResponse();
        response.setStatusCode(status);
        HttpHeaders headers = response.getHeaders();
        String traceparent = headers.getFirst("traceparent");
        headers.clear();
        if (traceparent != null) headers.set("traceparent", traceparent);
        headers.setContentType(type == null ? MediaType.APPLICATION_PROBLEM_JSON : type);
        headers.setContentLength(bytes.length);
        headers.setCacheControl("no-store");
        if (status.isError()) {
            // An answer made here may leave the request body unread; closing the connection keeps
            // a client from reusing one the server is about to drop (a pooled client can hang on it).
            headers.setConnection("close");
        }
        if (extraHeaders != null) extraHeaders.accept(headers);
        return response.writeWith(Mono.just(response.bufferFactory().wrap(bytes)));
    }
}
