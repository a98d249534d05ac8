package dev.andromeda.gateway.problem;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.cloud.gateway.route.Route;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatusCode;
import org.springframework.stereotype.Component;
import org.springframework.web.ErrorResponse;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebExceptionHandler;
import reactor.core.publisher.Mono;

/**
 * Every error the gateway produces becomes application/problem+json, never a stack trace:
 * no route 404, upstream unreachable 503 naming the service, upstream timeout 504, and so on.
 * Ordered before Boot's own error handler (-1). Upstream problem responses never get here:
 * they are proxied unchanged.
 */
@Component
@Order(-2)
public class ProblemExceptionHandler implements WebExceptionHandler {

    /** Exchange attribute: a human name for the upstream this request is being sent to. */
    public static final String UPSTREAM_ATTR = "m31.upstream";

    private static final Logger log = LoggerFactory.getLogger(ProblemExceptionHandler.class);

    private final Problems problems;

    public ProblemExceptionHandler(Problems problems) {
        this.problems = problems;
    }

    @Override
    public Mono<Void> handle(ServerWebExchange exchange, Throwable ex) {
        if (exchange.getResponse().isCommitted()) {
            return Mono.error(ex);
        }
        if (ex instanceof UpstreamProblem up) {
            return problems.raw(exchange, HttpStatusCode.valueOf(up.status()), up.contentType(), up.body(), null);
        }
        if (ex instanceof GatewayProblem gp) {
            return problems.write(exchange, gp.status(), gp.type(), gp.getMessage());
        }
        String upstream = upstream(exchange);
        if (isUnreachable(ex)) {
            return problems.write(exchange, 503, "unavailable", upstream + " unreachable");
        }
        if (hasCause(ex, "reactor.netty.http.client.PrematureCloseException")) {
            return problems.write(exchange, 502, "bad-gateway", upstream + " closed the connection before answering");
        }
        if (ex instanceof ResponseStatusException rse) {
            int status = rse.getStatusCode().value();
            String path = exchange.getRequest().getPath().value();
            return switch (status) {
                case 404 -> problems.write(exchange, 404, "not-found",
                        "no route for " + exchange.getRequest().getMethod() + " " + path);
                case 504 -> problems.write(exchange, 504, "gateway-timeout", upstream + " did not answer in time");
                case 413 -> problems.write(exchange, 413, "too-large",
                        rse.getReason() == null ? "the request is too large" : rse.getReason());
                default -> problems.write(exchange, status, slug(status),
                        rse.getReason() != null ? rse.getReason() : rse.getStatusCode().toString());
            };
        }
        if (ex instanceof ErrorResponse er) {
            int status = er.getStatusCode().value();
            String detail = er.getBody().getDetail();
            return problems.write(exchange, status, slug(status), detail == null ? "request refused" : detail);
        }
        String incident = Long.toString(System.nanoTime(), 36);
        log.error("incident {} on {} {}", incident, exchange.getRequest().getMethod(), exchange.getRequest().getPath(), ex);
        return problems.write(exchange, 500, "internal", "internal error (incident " + incident + ")");
    }

    static String upstream(ServerWebExchange exchange) {
        String named = exchange.getAttribute(UPSTREAM_ATTR);
        if (named != null) return named;
        Route route = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_ROUTE_ATTR);
        if (route != null) {
            Map<String, Object> meta = route.getMetadata();
            Object service = meta.get("service");
            if (service != null) return service.toString();
            return "route " + route.getId();
        }
        return "upstream";
    }

    public static boolean isUnreachable(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof UnknownHostException || t instanceof NoRouteToHostException
                    || t.getClass().getName().equals("io.netty.channel.ConnectTimeoutException")
                    || t.getClass().getName().equals("io.netty.resolver.dns.DnsErrorCauseException")) {
                return true;
            }
            if (t.getCause() == t) break;
        }
        return false;
    }

    private static boolean hasCause(Throwable ex, String className) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t.getClass().getName().equals(className)) return true;
            if (t.getCause() == t) break;
        }
        return false;
    }

    private static String slug(int status) {
        return switch (status) {
            case 400 -> "bad-request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not-found";
            case 405 -> "method-not-allowed";
            case 406 -> "not-acceptable";
            case 409 -> "conflict";
            case 410 -> "gone";
            case 413 -> "too-large";
            case 415 -> "unsupported-media-type";
            case 429 -> "too-many-requests";
            case 502 -> "bad-gateway";
            case 503 -> "unavailable";
            case 504 -> "gateway-timeout";
            default -> status >= 500 ? "internal" : "bad-request";
        };
    }
}
