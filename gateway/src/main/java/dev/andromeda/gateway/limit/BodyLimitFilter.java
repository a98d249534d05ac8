package dev.andromeda.gateway.limit;

import dev.andromeda.gateway.problem.Problems;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.core.Ordered;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Refuses request bodies over the limit with 413: at once when Content-Length says so, and while
 * streaming when a chunked body grows past it (the upstream request is then aborted).
 */
public class BodyLimitFilter implements WebFilter, Ordered {

    private final long max;
    private final Problems problems;

    public BodyLimitFilter(long max, Problems problems) {
        this.max = max;
        this.problems = problems;
    }

    @Override
    public int getOrder() { return dev.andromeda.gateway.auth.BearerAuthFilter.ORDER + 1; }

    @Override
    public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
        long declared = exchange.getRequest().getHeaders().getContentLength();
        if (declared > max) {
            return problems.write(exchange, 413, "too-large", "the request body is " + declared
                    + " bytes; the limit is " + max);
        }
        // a request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 6.3): nothing to count
        if (declared >= 0 || !exchange.getRequest().getHeaders().containsHeader(org.springframework.http.HttpHeaders.TRANSFER_ENCODING)) {
            return chain.filter(exchange);
        }
        ServerHttpRequest counted = new ServerHttpRequestDecorator(exchange.getRequest()) {
            @Override
            public Flux<DataBuffer> getBody() {
                AtomicLong seen = new AtomicLong();
                return super.getBody().handle((buf, sink) -> {
                    if (seen.addAndGet(buf.readableByteCount()) > max) {
                        DataBufferUtils.release(buf);
                        sink.error(new ResponseStatusException(org.springframework.http.HttpStatus.CONTENT_TOO_LARGE,
                                "the request body exceeds the limit of " + max + " bytes"));
                    } else {
                        sink.next(buf);
                    }
                });
            }
        };
        return chain.filter(exchange.mutate().request(counted).build());
    }
}
