package dev.andromeda.store.web;

import dev.andromeda.common.problem.ProblemAdvice;
import dev.andromeda.store.code.CodeController;
import dev.andromeda.store.space.SpaceCatalog;
import dev.andromeda.store.versions.VersionStore;
import jakarta.servlet.http.HttpServletRequest;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessException;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * The store's own failure translations, ahead of the common {@link ProblemAdvice}: database
 * errors a client caused or can retry (a space dropped under a request, a value out of range,
 * lock conflicts).
 */
@RestControllerAdvice(assignableTypes = {StoreController.class, CodeController.class})
@Order(Ordered.HIGHEST_PRECEDENCE)
class StoreProblems {

    private static final Logger log = LoggerFactory.getLogger(StoreProblems.class);

    private final SpaceCatalog spaces;

    StoreProblems(SpaceCatalog spaces) {
        this.spaces = spaces;
    }

    private static ResponseEntity<ProblemDetail> respond(ProblemDetail pd) {
        return ResponseEntity.status(pd.getStatus()).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(pd);
    }

    /** A merge with conflicts: the problem lists each with both sides (and the branch point). */
    @ExceptionHandler(VersionStore.Conflict.class)
    ResponseEntity<ProblemDetail> mergeConflict(VersionStore.Conflict e, HttpServletRequest req) {
        ProblemDetail pd = ProblemAdvice.problem(409, "merge-conflict", e.getMessage(), null, req.getRequestURI());
        pd.setProperty("conflicts", e.conflicts);
        return respond(pd);
    }

    /** A version the pruner removed: the problem says how far its line is pruned, and when. */
    @ExceptionHandler(VersionStore.Pruned.class)
    ResponseEntity<ProblemDetail> pruned(VersionStore.Pruned e, HttpServletRequest req) {
        ProblemDetail pd = ProblemAdvice.problem(e.status(), e.type(), e.getMessage(), e.field(), req.getRequestURI());
        pd.setProperty("prunedThrough", e.through);
        pd.setProperty("prunedAt", e.at.toString());
        return respond(pd);
    }

    @ExceptionHandler(DataAccessException.class)
    ResponseEntity<ProblemDetail> database(DataAccessException e, HttpServletRequest req) {
        String state = null;
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof SQLException sql && sql.getSQLState() != null) {
                state = sql.getSQLState();
                break;
            }
        }
        String uri = req.getRequestURI();
        if (state != null) {
            switch (state) {
                case "42P01": // undefined_table: the space was removed while this request ran
                    spaces.forgetAll();
                    return respond(ProblemAdvice.problem(404, "not-found", "the space was removed", null, uri));
                case "22003": // numeric_value_out_of_range
                    return respond(ProblemAdvice.problem(422, "unprocessable", "a value leaves the range of its type", null, uri));
                case "22P05", "22021", "54000": // untranslatable character, bad encoding, program limit (e.g. index row size)
                    return respond(ProblemAdvice.problem(400, "bad-request", "a value cannot be stored: " + state, null, uri));
                case "40001", "40P01", "55P03": // serialization failure, deadlock, lock not available
                    return respond(ProblemAdvice.problem(503, "unavailable", "conflicting concurrent writes; retry", null, uri));
                default:
                    break;
            }
        }
        String incident = Long.toString(System.nanoTime(), 36);
        log.error("incident {} on {} {} (SQL state {})", incident, req.getMethod(), uri, state, e);
        return respond(ProblemAdvice.problem(500, "internal", "internal error (incident " + incident + ")", null, uri));
    }
}
