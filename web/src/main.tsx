import { StrictMode, useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { request, resetLiveConnection, setUnauthenticatedHandler, tokenStore } from './api';
import { readHash } from './nav';
import { MeQuery } from './operations';
import { AuditPage } from './pages/audit';
import { ContainersPage } from './pages/containers';
import { DashboardPage } from './pages/dashboard';
import { GroupsPage } from './pages/groups';
import { ImagesPage } from './pages/images';
import { VolumesPage } from './pages/volumes';
import { RegistriesPage } from './pages/registries';
import { LoginPage } from './pages/login';
import { MetasPage } from './pages/metas';
import { NodesPage } from './pages/nodes';
import { NotificationsPage } from './pages/notifications';
import { UsersPage } from './pages/users';
import { AccountPage } from './pages/account';
import { TeamsPage } from './pages/teams';
import { Spinner } from './ui';
import './styles.css';
import type { Viewer } from './viewer';

interface Route {
  path: string;
  label: string;
  admin?: boolean;
}

const ROUTES: Route[] = [
  { path: 'dashboard', label: 'Dashboard' },
  { path: 'groups', label: 'Groups' },
  { path: 'nodes', label: 'Nodes' },
  { path: 'containers', label: 'Containers' },
  { path: 'metas', label: 'Services' },
  { path: 'images', label: 'Images' },
  { path: 'volumes', label: 'Volumes' },
  { path: 'registries', label: 'Registries' },
  { path: 'audit', label: 'Audit log', admin: true },
  { path: 'users', label: 'Users', admin: true },
  { path: 'teams', label: 'Teams', admin: true },
  { path: 'account', label: 'Account' },
  { path: 'notifications', label: 'Notifications', admin: true },
];

function App() {
  const [viewer, setViewer] = useState<Viewer | null | undefined>(undefined);
  const [route, setRoute] = useState(readHash);
  const [menuOpen, setMenuOpen] = useState(false);

  const signOut = useCallback(() => {
    tokenStore.clear();
    resetLiveConnection();
    setViewer(null);
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(signOut);
    const onHash = () => {
      setRoute(readHash());
      setMenuOpen(false);
    };
    window.addEventListener('hashchange', onHash);
    if (!tokenStore.get()) setViewer(null);
    else
      request(MeQuery).then(
        (data) => setViewer(data.me),
        () => setViewer(null),
      );
    return () => window.removeEventListener('hashchange', onHash);
  }, [signOut]);

  useEffect(() => {
    const current = ROUTES.find((r) => r.path === route.path);
    document.title = viewer === null ? 'Sign in · Humpback' : `${current?.label ?? 'Humpback'} · Humpback`;
  }, [route.path, viewer]);

  if (viewer === undefined) {
    return (
      <main className="center">
        <Spinner label="Loading…" />
      </main>
    );
  }
  if (viewer === null) {
    return (
      <LoginPage
        onSignedIn={(token, user) => {
          tokenStore.set(token);
          resetLiveConnection();
          setViewer(user);
        }}
      />
    );
  }

  return (
    <div className="shell">
      <a
        className="skip"
        href="#main"
        onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}
      >
        Skip to content
      </a>
      <TopBar
        viewer={viewer}
        current={route.path}
        menuOpen={menuOpen}
        onMenu={() => setMenuOpen((o) => !o)}
        onSignOut={signOut}
      />
      <main id="main" tabIndex={-1}>
        <CurrentPage route={route} viewer={viewer} />
      </main>
    </div>
  );
}

/** The brand, the menu (the viewer's routes) and who is signed in. */
function TopBar({
  viewer,
  current,
  menuOpen,
  onMenu,
  onSignOut,
}: {
  viewer: Viewer;
  current: string;
  menuOpen: boolean;
  onMenu: () => void;
  onSignOut: () => void;
}) {
  const routes = ROUTES.filter((r) => !r.admin || viewer.admin);
  return (
    <header className="topbar">
      <a className="brand" href="#/dashboard">
        Humpback
      </a>
      <button
        type="button"
        className="menu-toggle"
        aria-expanded={menuOpen}
        aria-controls="nav"
        onClick={onMenu}
      >
        Menu
      </button>
      <nav id="nav" className={menuOpen ? 'open' : ''} aria-label="Main">
        <ul>
          {routes.map((r) => (
            <li key={r.path}>
              <a href={`#/${r.path}`} aria-current={current === r.path ? 'page' : undefined}>
                {r.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="who">
        <span>
          {viewer.username}
          {viewer.admin ? ' (admin)' : ''}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}

function CurrentPage({ route, viewer }: { route: ReturnType<typeof readHash>; viewer: Viewer }) {
  switch (route.path) {
    case 'groups':
      return <GroupsPage viewer={viewer} />;
    case 'nodes':
      return <NodesPage params={route.params} viewer={viewer} />;
    case 'containers':
      return <ContainersPage params={route.params} />;
    case 'metas':
      return <MetasPage params={route.params} />;
    case 'images':
      return <ImagesPage params={route.params} />;
    case 'volumes':
      return <VolumesPage params={route.params} />;
    case 'registries':
      return <RegistriesPage viewer={viewer} />;
    case 'audit':
      return <AuditPage />;
    case 'users':
      return <UsersPage viewer={viewer} />;
    case 'teams':
      return <TeamsPage viewer={viewer} />;
    case 'account':
      return <AccountPage viewer={viewer} />;
    case 'notifications':
      return <NotificationsPage />;
    case 'dashboard':
      return <DashboardPage />;
    default:
      return (
        <section>
          <h1>Page not found</h1>
          <p>
            <a href="#/dashboard">Go to the dashboard</a>
          </p>
        </section>
      );
  }
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
