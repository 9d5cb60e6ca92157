// Progressive enhancement only: every page works without this. Loaded as a module from /static (the CSP allows
// scripts from the portal itself and nothing inline).
import '/static/design-system/scripts/design-system.js';

window.DS?.initAll?.();
// The design system moves focus to an error summary so that screen readers announce it at once.
document.getElementById('error-summary')?.focus();
