package dev.andromeda.channel;

import dev.andromeda.common.problem.ProblemAdvice;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Refuses an oversized message before its body is read: a declared Content-Length above the
 * message limit (plus room for whitespace) is a 413. A body without a declared length is
 * measured after parsing by {@link ChannelService#send}.
 */
@Component
public class BodySizeFilter extends OncePerRequestFilter {

    private static final long LIMIT = ChannelService.MAX_MESSAGE_BYTES + 64 * 1024;

    private final JsonMapper json;

    public BodySizeFilter(JsonMapper json) {
        this.json = json;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest req) {
        return !"POST".equals(req.getMethod()) || !req.getRequestURI().startsWith("/ch/");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest req, HttpServletResponse res, FilterChain chain) throws ServletException, IOException {
        if (req.getContentLengthLong() > LIMIT) {
            res.setStatus(413);
            res.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
            res.getOutputStream().write(json.writeValueAsBytes(ProblemAdvice.problem(413, "too-large",
                    "a message is at most " + ChannelService.MAX_MESSAGE_BYTES + " bytes (this body is " + req.getContentLengthLong() + ")",
                    "body", req.getRequestURI())));
            return;
        }
        chain.doFilter(req, res);
    }
}
