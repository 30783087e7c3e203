import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { Request, Response, Router } from 'express';
import express from 'express';

/**
 * Serves the integrity console's static build under /console: assets by path (content-hashed
 * names, cached for good), and index.html for every other path below /console, so the shared
 * links (/console/kinds/<Kind>, /console/resources/<id>, /console/approvals/<id>) open the view
 * they name. index.html is never cached: a new build is picked up on the next load.
 */

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

const notFound = (res: Response, message: string) => res.status(404).json({ errors: [{ message, extensions: { code: 'NOT_FOUND' } }] });

export function consoleRoutes(dir: string): Router {
  const router = express.Router();
  // Only the page itself: the console talks to /graphql on this origin and loads nothing from elsewhere.
  const headers = (res: Response) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
  };
  const index = (_req: Request, res: Response) => {
    const file = join(dir, 'index.html');
    if (!existsSync(file)) {
      res.status(404).json({ errors: [{ message: 'The console is not built: run `npm run build`', extensions: { code: 'NOT_FOUND' } }] });
      return;
    }
    headers(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    res.type('text/html; charset=utf-8').send(readFileSync(file));
  };
  router.get('/assets/{*rest}', (req, res) => {
    const rel = normalize(req.path).replace(/^[/\\]+/, '');
    const file = join(dir, rel);
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      notFound(res, `No console asset ${req.path}`);
      return;
    }
    const type = TYPES[extname(file)];
    if (!type) {
      notFound(res, `No console asset ${req.path}`);
      return;
    }
    headers(res);
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.type(type).send(readFileSync(file));
  });
  router.get('/{*rest}', index);
  return router;
}
