/** Stylesheets imported for their side effect: Vite bundles them into viewer.css. */
declare module '*.css';
