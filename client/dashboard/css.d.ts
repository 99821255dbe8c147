// esbuild bundles CSS imported from the dashboard's code into public/build/dashboard.css.
declare module "*.css";
