"""Parametric families of probability distributions.

A :class:`Family` holds a density (continuous) or a pmf (discrete) as a SymPy
expression in one variable, its support, and its parameters with their domains:
the parameters are the coordinates of every metric symgeo derives, in the order
they are declared. A family is built from a TOML spec (``derivations/*.toml``,
design.md 3.1), from a built-in name, or from Python with
:meth:`Family.continuous` and :meth:`Family.discrete`; the ``gaussian`` kind
(multivariate normal laws) lives in :mod:`symgeo.gaussian`.

Every constructor validates: expressions are parsed by the restricted parser of
:mod:`symgeo.parsing` (spec text is never evaluated as Python), every symbol must
be declared, every parameter must be used, and the density must be non-negative
and normalised at a few interior parameter points (checked by mpmath
quadrature, or summation for a pmf).
"""

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from functools import cached_property

import mpmath
import numpy as np
import sympy as sp

from .domains import Domain
from .errors import DomainError, SpecError
from .parsing import check_identifier, parse_expression, parse_relation

log = logging.getLogger(__name__)

KINDS = ("continuous", "discrete", "gaussian")
SPEC_KEYS = {
    "name",
    "title",
    "kind",
    "variable",
    "support",
    "density",
    "pmf",
    "parameters",
    "cdf",
    "quantile",
    "references",
    "constraints",
    "dimension",
    "mean",
    "covariance",
    "fixed",
}
NORMALISATION_TOLERANCE = 1e-8
FINITE_SUPPORT_LIMIT = 200
EXP_UNDERFLOW = -(10**4)


@dataclass(frozen=True)
class Parameter:
    """A coordinate of the family: its name, SymPy symbol and domain."""

    name: str
    symbol: sp.Symbol
    domain: Domain


@dataclass(eq=False)
class Family:
    """A parametric family of distributions on the real line or the integers.

    Use the constructors (:meth:`from_spec`, :meth:`from_toml`, :meth:`builtin`,
    :meth:`continuous`, :meth:`discrete`) rather than the bare initialiser.

    >>> fam = Family.continuous(
    ...     density="lam * exp(-lam * x)", variable="x",
    ...     support=("0", "oo"), parameters={"lam": "positive"})
    >>> fam.density
    lam*exp(-lam*x)
    >>> fam.names
    ('lam',)
    """

    name: str
    title: str
    kind: str
    variable: sp.Symbol
    support: tuple
    density: sp.Expr
    parameters: tuple
    constraints: tuple = ()
    cdf: sp.Expr | None = None
    quantile: sp.Expr | None = None
    references: tuple = ()
    source: str = "python"
    spec_hash: str = ""
    extra: dict = field(default_factory=dict)

    # -- views -----------------------------------------------------------------

    @property
    def symbols(self):
        """The parameter symbols, in coordinate order."""
        return tuple(p.symbol for p in self.parameters)

    @property
    def names(self):
        """The parameter names, in coordinate order."""
        return tuple(p.name for p in self.parameters)

    @property
    def dimension(self):
        """Number of parameters (the dimension of the statistical manifold)."""
        return len(self.parameters)

    @property
    def is_discrete(self):
        return self.kind == "discrete"

    @property
    def finite_support(self):
        """The support points of a discrete family with a short finite support."""
        lo, hi = self.support
        if not self.is_discrete or not (lo.is_Integer and hi.is_Integer):
            return None
        if hi - lo > FINITE_SUPPORT_LIMIT:
            return None
        return tuple(range(int(lo), int(hi) + 1))

    @property
    def support_depends_on_parameters(self):
        return any(bound.free_symbols & set(self.symbols) for bound in self.support)

    @cached_property
    def log_density(self):
        """log p(x; θ), with logarithms of products expanded."""
        return sp.expand_log(sp.log(self.density), force=True)

    def parameter(self, name):
        """The :class:`Parameter` called ``name``."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise SpecError(
            f"family '{self.name}' has no parameter '{name}'; "
            f"its parameters are {', '.join(self.names)}"
        )

    def fix(self, **values):
        """The subfamily with the named parameters held at exact values.

        Values (numbers or strings such as ``"1/2"``) are made exact (``0.5``
        becomes 1/2), so that the derivations of the subfamily stay symbolic;
        its name records the fixed values.

        >>> shape = Family.builtin("gamma").fix(b=1)
        >>> shape.name, shape.names, shape.density
        ('gamma[b=1]', ('k',), x**(k - 1)*exp(-x)/gamma(k))
        """
        if self.kind == "gaussian":
            raise SpecError(
                "fix() does not apply to a gaussian family; write a spec with "
                "mean = 'fixed' or covariance = 'fixed' and a [fixed] table"
            )
        point = {}
        for name, value in values.items():
            parameter = self.parameter(name)
            exact = sp.Rational(str(value))
            parameter.domain.check(name, float(exact))
            point[parameter.symbol] = exact
        if len(point) >= self.dimension:
            raise SpecError(
                f"fix() must leave at least one parameter of family '{self.name}' "
                f"free; it has {', '.join(self.names)}"
            )
        label = ", ".join(
            f"{name}={point[self.parameter(name).symbol]}" for name in values
        )
        constraints = [c.subs(point) for c in self.constraints]
        if sp.false in constraints:
            raise DomainError(
                f"the values {label} violate a constraint of family '{self.name}'"
            )

        def bound(expr):
            return None if expr is None else expr.subs(point)

        return dataclasses.replace(
            self,
            name=f"{self.name}[{label}]",
            title=f"{self.title}, {label}",
            support=tuple(bound(b) for b in self.support),
            density=self.density.subs(point),
            parameters=tuple(p for p in self.parameters if p.symbol not in point),
            constraints=tuple(c for c in constraints if c is not sp.true),
            cdf=bound(self.cdf),
            quantile=bound(self.quantile),
            spec_hash=hashlib.sha256(f"{self.spec_hash}[{label}]".encode()).hexdigest(),
        )

    # -- points ----------------------------------------------------------------

    def point(self, values):
        """Validate a parameter point and return it as ``{symbol: float}``.

        ``values`` is a mapping from names to numbers (all parameters required)
        or a sequence in coordinate order.

        >>> fam = Family.builtin("gamma")
        >>> fam.point({"k": 2.5, "b": 1.3})
        {k: 2.5, b: 1.3}
        >>> fam.point([-1, 1])
        Traceback (most recent call last):
        ...
        symgeo.errors.DomainError: parameter 'k' = -1 is outside its domain ...
        """
        if isinstance(values, dict):
            unknown = set(values) - set(self.names)
            if unknown:
                raise SpecError(
                    f"unknown parameter {sorted(unknown)[0]!r} for family "
                    f"'{self.name}'; its parameters are {', '.join(self.names)}"
                )
            missing = [n for n in self.names if n not in values]
            if missing:
                raise SpecError(
                    f"no value given for parameter {missing[0]!r} of family "
                    f"'{self.name}'; give all of {', '.join(self.names)}"
                )
            ordered = [values[n] for n in self.names]
        else:
            ordered = list(values)
            if len(ordered) != self.dimension:
                raise SpecError(
                    f"family '{self.name}' has {self.dimension} parameters "
                    f"({', '.join(self.names)}) but {len(ordered)} values were given"
                )
        point = {
            p.symbol: p.domain.check(p.name, v)
            for p, v in zip(self.parameters, ordered, strict=True)
        }
        self._check_constraints(point)
        return point

    def _check_constraints(self, point):
        for relation in self.constraints:
            if relation.subs(point) is not sp.true:
                where = ", ".join(f"{s}={v:g}" for s, v in point.items())
                raise DomainError(
                    f"the point {where} violates the constraint {relation} of "
                    f"family '{self.name}'; choose values that satisfy it"
                )

    def sample_points(self, count, seed=0):
        """``count`` typical interior points, as ``{symbol: float}`` dicts.

        Points satisfy the domains and the constraints; the draw is
        deterministic for a given ``seed``.
        """
        rng = np.random.default_rng(seed)
        points = []
        for _ in range(1000 * count):
            point = {
                p.symbol: p.domain.interior_points(1, rng)[0] for p in self.parameters
            }
            if self.meets_constraints(point):
                points.append(point)
            if len(points) == count:
                return points
        raise SpecError(
            f"could not find interior points of family '{self.name}' that satisfy "
            "its constraints; check that the constraints can hold together"
        )

    def meets_constraints(self, point, *extra):
        """Whether ``point`` ({symbol: value}) satisfies the spec's constraints
        and the ``extra`` conditions, each decided True by SymPy."""
        return all(c.subs(point) is sp.true for c in (*self.constraints, *extra))

    # -- numerics ----------------------------------------------------------------

    def numeric(self, expr, point, variable=None):
        """``expr`` with the parameters of ``point`` substituted, as a function of
        the variable (or of ``variable``, such as the level u of a quantile)
        evaluated with mpmath.

        ``exp`` of an argument below -10^4 is taken as 0 (it is below 10^-4342):
        quadrature nodes far in a tail would otherwise ask mpmath for
        exp(-exp(10^300)) (Gumbel) and never return. The parameter values enter
        as arguments at the working precision, not as 15-digit Floats folded
        into the constants: a closed-form cdf such as Student's t, whose
        atan and rational terms cancel to |x|^(-5) far out, keeps its digits.
        """
        symbols = [s for s in point if expr.has(s)]
        function = sp.lambdify(
            (variable if variable is not None else self.variable, *symbols),
            expr,
            modules=[MPMATH_FUNCTIONS, "mpmath"],
        )
        values = [sp.sympify(point[s]) for s in symbols]

        def at_point(x):
            prec = mpmath.mp.prec
            return function(x, *(mpmath.mpf(v._to_mpmath(prec)) for v in values))

        return at_point

    def kinks(self, point):
        """Points of the support where the density is not smooth (|x - μ| etc.)."""
        x = self.variable
        found = set()
        for node in sp.preorder_traversal(self.density):
            if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside)):
                arg = node.args[0].subs(point)
                if arg.has(x) and sp.degree(arg, x) == 1:
                    found.add(float(sp.solve(arg, x)[0]))
        return sorted(found)

    def expectation(self, expr, point, dps=30):
        """E_θ[expr(X)] at ``point`` by mpmath quadrature or summation."""
        p = self.numeric(self.density, point)
        f = self.numeric(expr, point)
        lo, hi = (mpmath.mpf(float(b.subs(point))) for b in self.support)
        with mpmath.workdps(dps):
            if self.is_discrete:
                if self.finite_support is not None:
                    return mpmath.fsum(f(n) * p(n) for n in self.finite_support)
                return mpmath.nsum(lambda n: f(n) * p(n), [lo, hi])
            nodes = [lo, *(mpmath.mpf(k) for k in self.kinks(point)), hi]
            return mpmath.quad(lambda t: f(t) * p(t), nodes)

    # -- validation ------------------------------------------------------------

    def validate(self, points=3):
        """Check non-negativity and normalisation at a few interior points, and
        the sign of the density where one parameter takes an extreme value of
        its domain (a density such as (1 + a x)/2 on [-1, 1] is one only for
        |a| <= 1, and a domain 'real' would pass the typical points)."""
        samples = self.sample_points(points, seed=12345)
        for point in samples:
            self._check_density_at(point)
        for point in self._extreme_points(samples[0]):
            negative = self._negative_at(point)
            if negative is not None:
                x, value = negative
                where = ", ".join(f"{s}={v:.4g}" for s, v in point.items())
                raise SpecError(
                    f"the {self._what} of family '{self.name}' is negative "
                    f"({value:.3g}) at x={x:g}, {where}: the parameter domains "
                    "allow values where the formula is not a density; narrow them "
                    '(an interval such as "(-1, 1)") or correct the formula'
                )
        return self

    def _extreme_points(self, base):
        """``base`` with one parameter moved to an extreme value of its domain
        (:meth:`Domain.extreme_values`)."""
        for parameter in self.parameters:
            for value in parameter.domain.extreme_values():
                point = {**base, parameter.symbol: value}
                if self.meets_constraints(point):
                    yield point

    def _negative_at(self, point):
        """``(x, value)`` at a probe point where the density is real and
        negative at ``point``, else None (points it cannot evaluate are skipped:
        an extreme parameter may overflow without being wrong)."""
        if self.density is None:
            return None
        try:
            values = list(self._probe_values(point))
        except _EVALUATION_ERRORS:
            return None
        for x, value, error in values:
            if error is None and value.real < 0 and not _imaginary(value):
                return x, value.real
        return None

    def _probe_values(self, point):
        """``(x, density value, None)`` at each probe point of the support, or
        ``(x, None, error)`` where the density cannot be evaluated there."""
        p = self.numeric(self.density, point)
        for x in self._probe_points(point):
            try:
                yield x, complex(p(x)), None
            except _EVALUATION_ERRORS as exc:
                yield x, None, exc

    def _check_density_at(self, point):
        self.check_nonnegative(point)
        where = ", ".join(f"{s}={v:.4g}" for s, v in point.items())
        total = float(self.expectation(sp.Integer(1), point, dps=20))
        if not abs(total - 1) < NORMALISATION_TOLERANCE:
            fix = "divide it by its normalising constant"
            if not self.is_discrete and self._sums_to_one(point):
                fix = (
                    "it sums to 1 over the integers of the support, so it is a pmf: "
                    'write kind = "discrete" and pmf = "..." instead of density'
                )
            raise SpecError(
                f"the {self._what} of family '{self.name}' is not normalised: it "
                f"{'sums' if self.is_discrete else 'integrates'} to {total:.10g} at "
                f"{where}; {fix}"
            )

    def _sums_to_one(self, point):
        """Whether the density, read as a pmf on the integers of an integer
        support, sums to 1 at ``point`` (a pmf written as a density)."""
        lo, hi = (b.subs(point) for b in self.support)
        if not (lo.is_integer and (hi.is_integer or hi is sp.oo)):
            return False
        p = self.numeric(self.density, point)
        with mpmath.workdps(20):
            try:
                total = mpmath.nsum(
                    p, [int(lo), mpmath.inf if hi is sp.oo else int(hi)]
                )
            except _EVALUATION_ERRORS:
                return False
        return abs(complex(total) - 1) < NORMALISATION_TOLERANCE

    def check_nonnegative(self, point):
        """SpecError unless the density is real and >= 0 at probe points of the
        support, at the parameter ``point`` (validation samples only a few
        parameter points, so evaluation checks its own point too). A gaussian
        family has no density formula to check."""
        if self.density is None:
            return
        where = ", ".join(f"{s}={v:.4g}" for s, v in point.items())
        for x, value, exc in self._probe_values(point):
            if exc is not None:
                raise SpecError(
                    f"the {self._what} of family '{self.name}' cannot be evaluated "
                    f"at x={x:g}, {where} ({exc}); check the formula and the support"
                )
            if _imaginary(value):
                raise SpecError(
                    f"the {self._what} of family '{self.name}' is not real at "
                    f"x={x:g}, {where}; check the formula and the support"
                )
            if value.real < 0:
                raise SpecError(
                    f"the {self._what} of family '{self.name}' is negative "
                    f"({value.real:.3g}) at x={x:g}, {where}; a density must be >= 0"
                    " at every parameter value of the domain: narrow the domain or "
                    "correct the formula"
                )

    @property
    def _what(self):
        return "pmf" if self.is_discrete else "density"

    def _probe_points(self, point):
        lo, hi = (float(b.subs(point)) for b in self.support)
        if self.is_discrete:
            top = hi if np.isfinite(hi) else lo + 30
            return [int(n) for n in np.unique(np.linspace(lo, top, 12).round())]
        a = lo if np.isfinite(lo) else -10.0 + min(hi, 0.0)
        b = hi if np.isfinite(hi) else 10.0 + max(lo, 0.0)
        return list(np.linspace(a, b, 15)[1:-1])

    # -- constructors ------------------------------------------------------------

    @classmethod
    def continuous(
        cls,
        density,
        variable,
        support,
        parameters,
        *,
        name="custom",
        title=None,
        cdf=None,
        quantile=None,
        constraints=(),
        references=(),
    ):
        """A continuous family from Python; arguments as in the TOML spec."""
        spec = {
            "name": name,
            "kind": "continuous",
            "variable": variable,
            "support": list(support),
            "density": density,
            "parameters": dict(parameters),
            "constraints": list(constraints),
            "references": list(references),
        }
        if title:
            spec["title"] = title
        if cdf:
            spec["cdf"] = cdf
        if quantile:
            spec["quantile"] = quantile
        return cls.from_spec(spec)

    @classmethod
    def discrete(
        cls,
        pmf,
        variable,
        support,
        parameters,
        *,
        name="custom",
        title=None,
        constraints=(),
        references=(),
    ):
        """A discrete family (pmf on an integer range) from Python.

        >>> fam = Family.discrete(pmf="p**x * (1 - p)**(1 - x)", variable="x",
        ...                       support=(0, 1), parameters={"p": "(0, 1)"})
        >>> fam.finite_support
        (0, 1)
        """
        spec = {
            "name": name,
            "kind": "discrete",
            "variable": variable,
            "support": [str(s) for s in support],
            "pmf": pmf,
            "parameters": dict(parameters),
            "constraints": list(constraints),
            "references": list(references),
        }
        if title:
            spec["title"] = title
        return cls.from_spec(spec)

    @classmethod
    def builtin(cls, name):
        """A family of the built-in catalog (``symgeo list`` shows them)."""
        from .catalog import builtin_spec

        return cls.from_spec(*builtin_spec(name))

    @classmethod
    def from_toml(cls, path):
        """A family from a TOML spec file."""
        from .catalog import read_spec

        return cls.from_spec(*read_spec(path))

    @classmethod
    def from_spec(cls, spec, source="python", text=None):
        """A family from a parsed spec (the dict a TOML file gives)."""
        unknown = set(spec) - SPEC_KEYS
        if unknown:
            raise SpecError(
                f"unknown key {sorted(unknown)[0]!r} in the spec from {source}; "
                f"the keys are {', '.join(sorted(SPEC_KEYS))}"
            )
        kind = spec.get("kind", "continuous")
        if kind not in KINDS:
            raise SpecError(
                f"unknown kind {kind!r} in the spec from {source}; "
                f"write one of {', '.join(KINDS)}"
            )
        spec_hash = hashlib.sha256(
            (text if text is not None else repr(sorted(spec.items()))).encode()
        ).hexdigest()
        if kind == "gaussian":
            from .gaussian import gaussian_family

            return gaussian_family(spec, source=source, spec_hash=spec_hash)
        return _univariate_from_spec(cls, spec, kind, source, spec_hash).validate()


def _tail_exp(z):
    if mpmath.im(z) == 0 and mpmath.re(z) < EXP_UNDERFLOW:
        return mpmath.mpf(0)
    return mpmath.exp(z)


def _betainc_regularized(a, b, x1, x2):
    return mpmath.betainc(a, b, x1, x2, regularized=True)


_EVALUATION_ERRORS = (ZeroDivisionError, ValueError, TypeError, OverflowError)


def _imaginary(value):
    """Whether a density value has an imaginary part beyond rounding."""
    return abs(value.imag) > 1e-12 * max(1.0, abs(value.real))


MPMATH_FUNCTIONS = {"exp": _tail_exp, "betainc_regularized": _betainc_regularized}
"""Functions that ``lambdify(..., "mpmath")`` would get wrong: SymPy 1.14 prints
betainc_regularized as a call mpmath does not have (unregularised)."""


def _require(spec, key, source, hint):
    if key not in spec:
        raise SpecError(f"the spec from {source} has no '{key}'; {hint}")
    return spec[key]


def _univariate_from_spec(cls, spec, kind, source, spec_hash):
    name = str(_require(spec, "name", source, 'add a line like name = "mine"'))
    where = f"family '{name}'"
    declared = _require(
        spec, "parameters", source, 'add a [parameters] table, e.g. k = "positive"'
    )
    if not isinstance(declared, dict) or not declared:
        raise SpecError(
            f"the [parameters] of {where} must be a table of name = domain; "
            'write for example k = "positive"'
        )

    parameters = []
    for pname, domain_text in declared.items():
        check_identifier(pname, what=f"parameter name in {where}")
        domain = Domain.parse(str(domain_text), name=pname)
        parameters.append(
            Parameter(pname, sp.Symbol(pname, **domain.assumptions), domain)
        )
    symbols = {p.name: p.symbol for p in parameters}

    var_name = str(spec.get("variable", "x"))
    check_identifier(var_name, what=f"variable name in {where}")
    if var_name in symbols:
        raise SpecError(
            f"the variable '{var_name}' of {where} is also declared as a "
            "parameter; rename one of them"
        )

    support_text = _require(spec, "support", source, 'add support = ["0", "oo"]')
    if not isinstance(support_text, (list, tuple)) or len(support_text) != 2:
        raise SpecError(
            f"the support of {where} must be a list of two bounds; "
            'write for example support = ["0", "oo"]'
        )
    support = tuple(
        parse_expression(str(b), symbols, where=f"the support of {where}")
        for b in support_text
    )
    numeric_bounds = [b for b in support if not b.free_symbols]
    if len(numeric_bounds) == 2 and not bool(support[0] < support[1]):
        raise SpecError(
            f"the support of {where} is empty: its lower bound {support[0]} is not "
            f"below its upper bound {support[1]}; list the bounds in increasing order"
        )
    variable = _variable_symbol(var_name, kind, support)
    scope = {**symbols, var_name: variable}

    key = "pmf" if kind == "discrete" else "density"
    other = "density" if kind == "discrete" else "pmf"
    if key not in spec and other in spec:
        raise SpecError(
            f"{where} is of kind '{kind}' and needs '{key}', not '{other}'; "
            f"rename the key or set kind accordingly"
        )
    density_text = _require(spec, key, source, f'add {key} = "..." with the formula')
    density = parse_expression(str(density_text), scope, where=f"the {key} of {where}")

    unused = [p.name for p in parameters if not density.has(p.symbol)]
    unused = [n for n in unused if not any(b.has(symbols[n]) for b in support)]
    if unused:
        raise SpecError(
            f"parameter '{unused[0]}' of {where} does not appear in its {key}; "
            "remove it from [parameters] or use it in the formula"
        )

    hints = {}
    for hint, hint_var in (("cdf", variable), ("quantile", sp.Symbol("u"))):
        if hint in spec:
            hints[hint] = parse_expression(
                str(spec[hint]),
                {**symbols, str(hint_var): hint_var},
                where=f"the {hint} of {where}",
            )

    constraints = tuple(
        parse_relation(str(c), symbols, where=f"the constraints of {where}")
        for c in spec.get("constraints", ())
    )
    return cls(
        name=name,
        title=str(spec.get("title", name)),
        kind=kind,
        variable=variable,
        support=support,
        density=density,
        parameters=tuple(parameters),
        constraints=constraints,
        cdf=hints.get("cdf"),
        quantile=hints.get("quantile"),
        references=tuple(str(r) for r in spec.get("references", ())),
        source=source,
        spec_hash=spec_hash,
    )


def _variable_symbol(name, kind, support):
    lo, hi = support
    assumptions = {"integer": True} if kind == "discrete" else {"real": True}
    if lo.is_nonnegative:
        assumptions["positive" if kind == "continuous" else "nonnegative"] = True
    elif hi.is_nonpositive:
        assumptions["negative" if kind == "continuous" else "nonpositive"] = True
    return sp.Symbol(name, **assumptions)
