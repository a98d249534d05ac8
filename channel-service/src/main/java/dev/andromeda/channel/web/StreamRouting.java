package dev.andromeda.channel.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * GET /ch/{id}/messages is a long-poll answered in JSON, unless the client asks for a stream
 * (Accept: application/x-ndjson or text/event-stream): then it is forwarded to the stream
 * handler. Done here rather than by produces= conditions, because a request without an Accept
 * header (the nucleus's, curl's) must keep getting JSON.
 */
@Component
class StreamRouting extends OncePerRequestFilter {

    static final String STREAM_PATH = "/ch/{id}/messages/stream";
    private static final Pattern MESSAGES = Pattern.compile("^/ch/([^/]+)/messages$");

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse resp, FilterChain chain)
            throws ServletException, IOException {
        String accept = req.getHeader("Accept");
        if ("GET".equals(req.getMethod()) && accept != null
                && (accept.contains(ChannelController.NDJSON) || accept.contains("text/event-stream"))) {
            Matcher m = MESSAGES.matcher(req.getRequestURI());
            if (m.matches()) {
                req.getRequestDispatcher("/ch/" + m.group(1) + "/messages/stream").forward(req, resp);
                return;
            }
        }
        chain.doFilter(req, resp);
    }
}
