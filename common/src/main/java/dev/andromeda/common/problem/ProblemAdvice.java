package dev.andromeda.common.problem;

import dev.andromeda.common.web.BodyLimitFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.ConstraintViolationException;
import java.net.URI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.FieldError;
import org.springframework.web.ErrorResponse;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.resource.NoResourceFoundException;
import tools.jackson.core.JacksonException;

/**
 * Turns every failure into application/problem+json. Clients never see a stack trace: an
 * unexpected exception is logged here with an id, and the client gets that id.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE - 100)
public class ProblemAdvice {

    private static final Logger log = LoggerFactory.getLogger(ProblemAdvice.class);

    public static ProblemDetail problem(int status, String type, String detail, String field, String instance) {
        ProblemDetail pd = ProblemDetail.forStatusAndDetail(HttpStatus.valueOf(status), detail);
        pd.setType(URI.create("/problems/" + type));
        if (instance != null) pd.setInstance(URI.create(instance));
        if (field != null) pd.setProperty("field", field);
        return pd;
    }

    private static ResponseEntity<ProblemDetail> respond(ProblemDetail pd) {
        return ResponseEntity.status(pd.getStatus()).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(pd);
    }

    @ExceptionHandler(M31Problem.class)
    ResponseEntity<ProblemDetail> m31(M31Problem e, HttpServletRequest req) {
        ProblemDetail pd = problem(e.status(), e.type(), e.getMessage(), e.field(), req.getRequestURI());
        if (e.headers().isEmpty()) return respond(pd);
        ResponseEntity.BodyBuilder b = ResponseEntity.status(pd.getStatus()).contentType(MediaType.APPLICATION_PROBLEM_JSON);
        e.headers().forEach((k, v) -> b.header(k, v));
        return b.body(pd);
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<ProblemDetail> unreadable(HttpMessageNotReadableException e, HttpServletRequest req) {
        ResponseEntity<ProblemDetail> big = tooLarge(e, req);
        if (big != null) return big;
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof tools.jackson.databind.exc.UnrecognizedPropertyException u) return unknownField(u, req);
        }
        String detail = "the request body is not valid JSON for this resource";
        Throwable cause = e.getMostSpecificCause();
        if (cause != null && cause.getMessage() != null) {
            // the parser's first line says where and what, without the Java class names
            String first = cause.getMessage().lines().findFirst().orElse("");
            detail += ": " + first.replaceAll("\\(class [^)]*\\)", "").replaceAll("`[a-z]+(\\.[a-zA-Z0-9_$]+)+`", "").trim();
        }
        return respond(problem(400, "malformed-body", detail, "body", req.getRequestURI()));
    }

    /** A field the body's type does not have: 400 naming it where it is, with the fields there are. */
    private static ResponseEntity<ProblemDetail> unknownField(tools.jackson.databind.exc.UnrecognizedPropertyException u,
                                                              HttpServletRequest req) {
        StringBuilder path = new StringBuilder();
        for (tools.jackson.databind.DatabindException.Reference r : u.getPath()) {
            if (r.getPropertyName() != null) path.append(path.isEmpty() ? "" : ".").append(r.getPropertyName());
            else if (r.getIndex() >= 0) path.append('[').append(r.getIndex()).append(']');
        }
        java.util.List<String> known = u.getKnownPropertyIds() == null ? java.util.List.of()
                : u.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
        String field = path.isEmpty() ? u.getPropertyName() : path.toString();
        String detail = "unknown field '" + field + "'" + (known.isEmpty() ? "" : " (the fields here are " + String.join(", ", known) + ")");
        return respond(problem(400, "unknown-field", detail, field, req.getRequestURI()));
    }

    /** A body read with a streaming parser (large batches) that is not JSON, or too large. */
    @ExceptionHandler(JacksonException.class)
    ResponseEntity<ProblemDetail> unparsable(JacksonException e, HttpServletRequest req) {
        ResponseEntity<ProblemDetail> big = tooLarge(e, req);
        if (big != null) return big;
        String first = e.getOriginalMessage() == null ? "" : e.getOriginalMessage().lines().findFirst().orElse("");
        return respond(problem(400, "malformed-body", "the request body is not valid JSON: " + first, "body", req.getRequestURI()));
    }

    @ExceptionHandler(BodyLimitFilter.BodyTooLarge.class)
    ResponseEntity<ProblemDetail> bodyTooLarge(BodyLimitFilter.BodyTooLarge e, HttpServletRequest req) {
        return respond(problem(413, "too-large", e.getMessage(), "body", req.getRequestURI()));
    }

    private static ResponseEntity<ProblemDetail> tooLarge(Throwable e, HttpServletRequest req) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof BodyLimitFilter.BodyTooLarge big) {
                return respond(problem(413, "too-large", big.getMessage(), "body", req.getRequestURI()));
            }
        }
        return null;
    }

    @ExceptionHandler(MethodArgumentNotValidException.class)
    ResponseEntity<ProblemDetail> invalid(MethodArgumentNotValidException e, HttpServletRequest req) {
        FieldError fe = e.getBindingResult().getFieldError();
        String field = fe == null ? null : fe.getField();
        String detail = fe == null ? "invalid request" : fe.getField() + ": " + fe.getDefaultMessage();
        return respond(problem(400, "invalid-field", detail, field, req.getRequestURI()));
    }

    @ExceptionHandler(HandlerMethodValidationException.class)
    ResponseEntity<ProblemDetail> invalidParam(HandlerMethodValidationException e, HttpServletRequest req) {
        var result = e.getParameterValidationResults().isEmpty() ? null : e.getParameterValidationResults().get(0);
        String field = result == null ? null : result.getMethodParameter().getParameterName();
        String msg = result == null || result.getResolvableErrors().isEmpty() ? "invalid"
                : result.getResolvableErrors().get(0).getDefaultMessage();
        return respond(problem(400, "invalid-field", (field == null ? "request" : field) + ": " + msg, field, req.getRequestURI()));
    }

    /**
     * The generated interfaces are {@code @Validated}: a path variable or header that breaks its
     * constraint fails in the method-validation proxy, before the handler; it is still the
     * client's 400, naming the parameter.
     */
    @ExceptionHandler(ConstraintViolationException.class)
    ResponseEntity<ProblemDetail> violated(ConstraintViolationException e, HttpServletRequest req) {
        ConstraintViolation<?> v = e.getConstraintViolations().stream().findFirst().orElse(null);
        String field = null;
        if (v != null) {
            // "method.parameter.path…": the parameter alone for a path or query value, the path inside a body
            String[] parts = v.getPropertyPath().toString().split("\\.", 3);
            field = parts.length == 3 ? parts[2] : parts[parts.length - 1];
        }
        String detail = v == null ? "invalid request" : (field == null ? "" : field + ": ") + v.getMessage();
        return respond(problem(400, "invalid-field", detail, field, req.getRequestURI()));
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ResponseEntity<ProblemDetail> mismatch(MethodArgumentTypeMismatchException e, HttpServletRequest req) {
        return respond(problem(400, "invalid-field", e.getName() + ": not a valid value", e.getName(), req.getRequestURI()));
    }

    @ExceptionHandler(MissingServletRequestParameterException.class)
    ResponseEntity<ProblemDetail> missing(MissingServletRequestParameterException e, HttpServletRequest req) {
        return respond(problem(400, "missing-field", e.getParameterName() + " is required", e.getParameterName(), req.getRequestURI()));
    }

    @ExceptionHandler(NoResourceFoundException.class)
    ResponseEntity<ProblemDetail> noRoute(NoResourceFoundException e, HttpServletRequest req) {
        return respond(problem(404, "not-found", "no resource at " + req.getRequestURI(), null, req.getRequestURI()));
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> unexpected(Exception e, HttpServletRequest req) {
        if (e instanceof ErrorResponse known) {
            // Spring's own web errors (405, 415, 406, …) carry the right status, and the headers
            // that go with it: a 405 must say what is Allowed (RFC 9110), a 415 what is Accepted
            ProblemDetail pd = known.getBody();
            pd.setInstance(URI.create(req.getRequestURI()));
            if (pd.getType() == null || "about:blank".equals(pd.getType().toString())) {
                HttpStatus s = HttpStatus.resolve(pd.getStatus());
                pd.setType(URI.create("/problems/" + (s == null ? "error" : s.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'))));
            }
            ResponseEntity.BodyBuilder b = ResponseEntity.status(pd.getStatus()).contentType(MediaType.APPLICATION_PROBLEM_JSON);
            known.getHeaders().forEach((name, values) -> values.forEach(v -> b.header(name, v)));
            return b.body(pd);
        }
        String incident = Long.toString(System.nanoTime(), 36);
        log.error("incident {} on {} {}", incident, req.getMethod(), req.getRequestURI(), e);
        return respond(problem(500, "internal", "internal error (incident " + incident + ")", null, req.getRequestURI()));
    }
}
